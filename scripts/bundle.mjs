// Bundles the CLI into one ESM file so the fetcher package (package.nix) is
// node + a single script: a small closure for every fixed-output derivation.
import { build } from "esbuild";
import { readFile } from "node:fs/promises";

const pkg = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8"));

await build({
  entryPoints: [new URL("../src/cli/main.ts", import.meta.url).pathname],
  outfile: new URL("../dist/nix-model-repo.mjs", import.meta.url).pathname,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // Some dependencies (the AWS SDK) still call require(); give the ESM bundle one.
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __nmrCreateRequire } from 'node:module';\nconst require = __nmrCreateRequire(import.meta.url);",
  },
  define: { __NMR_VERSION__: JSON.stringify(pkg.version) },
  legalComments: "none",
  logLevel: "warning",
});
