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

// Edits to dependencies' files as esbuild reads them, each a `require` made lazy: the
// module is still bundled and loaded the first time it is needed, not at start-up
// (docs/bench.md, "Third round"). Each edit must match its text exactly once, or the
// build fails: an undici upgrade that moves the line is noticed here, not at run time.
const LAZY_REQUIRES = [
  {
    // HTTP/2 is negotiated only when a dispatcher sets allowH2, which ours never does;
    // loading client-h2 at start-up loads node:http2, which loads node:tls: ~5 ms of every
    // run, plain-http loopback included. HTTPS loads node:tls itself (lib/core/connect.js).
    file: "node_modules/undici/lib/dispatcher/client.js",
    from: "const connectH2 = require('./client-h2.js')",
    to: "const connectH2 = (client, socket) => require('./client-h2.js')(client, socket)",
  },
];

/** esbuild plugin applying LAZY_REQUIRES; a file it never saw fails the build too. */
const lazyRequires = {
  name: "lazy-requires",
  setup(pluginBuild) {
    const applied = new Set();
    pluginBuild.onEnd(() => {
      const missed = LAZY_REQUIRES.filter(({ file }) => !applied.has(file)).map(({ file }) => file);
      if (missed.length > 0) throw new Error(`scripts/bundle.mjs: never bundled ${missed.join(", ")}`);
    });
    for (const { file, from, to } of LAZY_REQUIRES) {
      const filter = new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}$`);
      pluginBuild.onLoad({ filter }, async ({ path }) => {
        const text = await readFile(path, "utf8");
        const at = text.indexOf(from);
        if (at < 0 || text.indexOf(from, at + 1) >= 0)
          throw new Error(`scripts/bundle.mjs: expected exactly one "${from}" in ${path}`);
        applied.add(file);
        return { contents: text.replace(from, to), loader: "js" };
      });
    }
  },
};
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
    plugins: [lazyRequires],
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
