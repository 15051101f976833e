// Bundles the CLI into dist/: the entry dist/nix-model-repo.mjs and the chunks it loads
// on demand (dist/chunks/), so the fetcher package (package.nix) is node + this folder:
// no node_modules, a small closure for every fixed-output derivation.
//
// Split, not one file: each command and each source adapter is a chunk loaded only when
// used, so `fetch` from the Hub does not parse the AWS SDK, the scanner or `serve` (one
// 3.4 MB file cost ~0.1 s of compiling on every run; docs/bench.md).
import { build } from "esbuild";
import { mkdir, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";

const ENTRY = "nix-model-repo";
const CHUNKS = "chunks";
const dist = new URL("../dist/", import.meta.url).pathname;
// Built beside the target and moved in, the entry last: a Nix build or a test starting
// at that moment runs the old entry with its chunks or the new one with its chunks,
// never half of a file. Chunk names carry a hash of their content, so a chunk already
// there under the same name is the same chunk.
const staging = join(dist, `.build-${process.pid}`);
// The version is inlined (src/util/version.ts) rather than package.json imported: in the Nix
// build package.json is importNpmLock's rewrite naming a /nix/store tarball for every
// dependency, and a bundled copy would make all of them references of the fetcher.
const { version } = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8"));

try {
  await build({
    entryPoints: { [ENTRY]: new URL("../src/cli/main.ts", import.meta.url).pathname },
    outdir: staging,
    splitting: true,
    chunkNames: `${CHUNKS}/[name]-[hash]`,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    define: { NIX_MODEL_REPO_VERSION: JSON.stringify(version) },
    // Some dependencies (the AWS SDK) still call require(); give every ESM file one.
    banner: {
      js: "#!/usr/bin/env node\nimport { createRequire as __nmrCreateRequire } from 'node:module';\nconst require = __nmrCreateRequire(import.meta.url);",
    },
    legalComments: "none",
    logLevel: "warning",
  });

  const chunks = await readdir(join(staging, CHUNKS));
  await mkdir(join(dist, CHUNKS), { recursive: true });
  for (const chunk of chunks) await rename(join(staging, CHUNKS, chunk), join(dist, CHUNKS, chunk));
  await rename(join(staging, `${ENTRY}.mjs`), join(dist, `${ENTRY}.mjs`));
  // Chunks of earlier builds: every chunk is loaded in the first moments of a run (the
  // command, then the source adapter), so no run of the old entry still needs them.
  const current = new Set(chunks);
  for (const chunk of await readdir(join(dist, CHUNKS)))
    if (!current.has(chunk)) await rm(join(dist, CHUNKS, chunk), { force: true });
} finally {
  await rm(staging, { recursive: true, force: true });
}
