// Bundles the CLI into one ESM file so the fetcher package (package.nix) is
// node + a single script: a small closure for every fixed-output derivation.
import { build } from "esbuild";
import { readFile, rename } from "node:fs/promises";

const outfile = new URL("../dist/nix-model-repo.mjs", import.meta.url).pathname;
// Written beside the target and renamed over it: a Nix build or test reading the
// bundle at that moment sees the old one or the new one, never half a file.
const partial = `${outfile}.${process.pid}.tmp`;
// The version is inlined (src/util/version.ts) rather than package.json imported: in the Nix
// build package.json is importNpmLock's rewrite naming a /nix/store tarball for every
// dependency, and a bundled copy would make all of them references of the fetcher.
const { version } = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8"));

await build({
  entryPoints: [new URL("../src/cli/main.ts", import.meta.url).pathname],
  outfile: partial,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  define: { NIX_MODEL_REPO_VERSION: JSON.stringify(version) },
  // Some dependencies (the AWS SDK) still call require(); give the ESM bundle one.
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __nmrCreateRequire } from 'node:module';\nconst require = __nmrCreateRequire(import.meta.url);",
  },
  legalComments: "none",
  logLevel: "warning",
});

await rename(partial, outfile);
