// Bundles the CLI into one ESM file so the fetcher package (package.nix) is
// node + a single script: a small closure for every fixed-output derivation.
import { build } from "esbuild";
import { rename } from "node:fs/promises";

const outfile = new URL("../dist/nix-model-repo.mjs", import.meta.url).pathname;
// Written beside the target and renamed over it: a Nix build or test reading the
// bundle at that moment sees the old one or the new one, never half a file.
const partial = `${outfile}.${process.pid}.tmp`;

await build({
  entryPoints: [new URL("../src/cli/main.ts", import.meta.url).pathname],
  outfile: partial,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // Some dependencies (the AWS SDK) still call require(); give the ESM bundle one.
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __nmrCreateRequire } from 'node:module';\nconst require = __nmrCreateRequire(import.meta.url);",
  },
  legalComments: "none",
  logLevel: "warning",
});

await rename(partial, outfile);
