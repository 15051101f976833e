// Bundles the CLI into dist/, so the fetcher package (package.nix) is node + this folder:
// no node_modules, a small closure for every fixed-output derivation.
//
//   dist/nix-model-repo.mjs   the entry: runs one of the two bundles below, loading nothing else
//   dist/fetch/               `fetch`, every fixed-output derivation's builder: a main file and
//                             the chunks only S3, MLflow and git sources load (and one shared)
//   dist/cli/                 every command: an entry and the chunks it loads on demand
//
// Split, not one file: each command and each source adapter of dist/cli/ is a chunk loaded
// only when used, so no command parses the AWS SDK, the scanner or `serve` unless it needs
// them (one 3.4 MB file cost ~0.1 s of compiling on every run; docs/bench.md). But each
// file costs resolving, reading, linking, and esbuild makes a chunk per set of commands and
// adapters sharing code: a Hub fetch loaded 30 files. `fetch` runs once per model, or once
// per file with a lockfile, so it gets a bundle of its own, the same src/cli/main.ts with
// only the fetch command and the light adapters imported statically (FETCH_BUNDLE_EDITS): a
// Hub fetch loads four files, ~0.025 s less CPU (docs/bench.md, "Third round"). It costs
// ~2.5 MB more in dist/ (undici, the AWS SDK and our fetch code are in both bundles). A
// run loads one bundle only: no module is ever loaded twice under two names.
import { build } from "esbuild";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

const ENTRY = "nix-model-repo";
const CHUNKS = "chunks";
const dist = new URL("../dist/", import.meta.url).pathname;
const main = new URL("../src/cli/main.ts", import.meta.url).pathname;
// Built beside the target and moved in, the entries last: a Nix build or a test starting
// at that moment runs an old entry with its chunks or a new one with its chunks, never
// half of a file. Chunk names carry a hash of their content, so a chunk already there
// under the same name is the same chunk.
const staging = join(dist, `.build-${process.pid}`);
// The version is inlined (src/util/version.ts) rather than package.json imported: in the Nix
// build package.json is importNpmLock's rewrite naming a /nix/store tarball for every
// dependency, and a bundled copy would make all of them references of the fetcher.
const { version } = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8"));

const DISPATCH = `#!/usr/bin/env node
// Written by scripts/bundle.mjs: \`fetch\` runs from its own bundle, every other command from
// the whole CLI's. Both are src/cli/main.ts; a run loads one of them, never both.
if (process.argv[2] === "fetch") await import("./fetch/${ENTRY}.mjs");
else await import("./cli/${ENTRY}.mjs");
`;

// Edits to dependencies' files as esbuild reads them, each a \`require\` made lazy: the
// module is still bundled and loaded the first time it is needed, not at start-up
// (docs/bench.md, "Third round").
const LAZY_REQUIRES = [
  {
    // HTTP/2 is negotiated only when a dispatcher sets allowH2, which ours never does;
    // loading client-h2 at start-up loads node:http2, which loads node:tls: ~5 ms of every
    // run, plain-http loopback included. HTTPS loads node:tls itself (lib/core/connect.js).
    file: "node_modules/undici/lib/dispatcher/client.js",
    edits: [
      {
        from: "const connectH2 = require('./client-h2.js')",
        to: "const connectH2 = (client, socket) => require('./client-h2.js')(client, socket)",
      },
    ],
  },
];

/** Source adapters the fetch bundle imports statically... */
const FETCH_STATIC_ADAPTERS = ["huggingface", "ollama", "http"];
/**
 * ...and those it loads together, on demand: the ones that load the AWS SDK (s3, and mlflow,
 * which reads S3 artifact stores) or run git (node:child_process).
 */
const FETCH_LAZY_ADAPTERS = ["s3", "mlflow", "git-lfs", "git-xet"];
const LAZY_ADAPTERS_MODULE = "nix-model-repo:lazy-adapters";
const COMMANDS = [
  ...(await readFile(new URL("../src/cli/commands/index.ts", import.meta.url), "utf8")).matchAll(
    /\(await import\("\.\/([a-z-]+)\.js"\)\)\.default/g,
  ),
];
if (!COMMANDS.some(([, name]) => name === "fetch"))
  throw new Error('scripts/bundle.mjs: no `(await import("./fetch.js")).default` in src/cli/commands/index.ts');

// The fetch bundle's edits to our own sources: the fetch command imported statically and
// every other command left out (the entry sends only `fetch` there); the adapters imported
// statically, or the heavy ones from one module, so that the bundle is one file plus the
// chunks it shares with that module, not a chunk for each combination of adapters sharing code.
const FETCH_BUNDLE_EDITS = [
  {
    file: "src/cli/commands/index.ts",
    prepend: 'import fetchCommand from "./fetch.js";\n',
    edits: COMMANDS.map(([call, name]) => ({
      from: call,
      to:
        name === "fetch"
          ? "fetchCommand"
          : `(() => { throw new Error("scripts/bundle.mjs: ${name} is not in the fetch bundle"); })()`,
    })),
  },
  {
    file: "src/sources/registry.ts",
    prepend: FETCH_STATIC_ADAPTERS.map(
      (name, i) => `import * as staticAdapter${i} from "./${name}/adapter.js";\n`,
    ).join(""),
    edits: [
      ...FETCH_STATIC_ADAPTERS.map((name, i) => ({
        from: `(await import("./${name}/adapter.js"))`,
        to: `staticAdapter${i}`,
      })),
      ...FETCH_LAZY_ADAPTERS.map((name) => ({
        from: `(await import("./${name}/adapter.js"))`,
        to: `(await import("${LAZY_ADAPTERS_MODULE}"))`,
      })),
    ],
  },
];

/** The module FETCH_LAZY_ADAPTERS are loaded from in the fetch bundle: all their exports. */
const lazyAdapters = {
  name: "lazy-adapters",
  setup(pluginBuild) {
    const sources = new URL("../src/sources/", import.meta.url).pathname;
    pluginBuild.onResolve({ filter: new RegExp(`^${LAZY_ADAPTERS_MODULE}$`) }, () => ({
      path: LAZY_ADAPTERS_MODULE,
      namespace: "lazy-adapters",
    }));
    pluginBuild.onLoad({ filter: /.*/, namespace: "lazy-adapters" }, () => ({
      contents: FETCH_LAZY_ADAPTERS.map((name) => `export * from "./${name}/adapter.js";`).join("\n"),
      resolveDir: sources,
      loader: "js",
    }));
  },
};

/**
 * esbuild plugin making exact edits to files as it reads them. Each `from` must occur
 * exactly once and each file must be bundled, or the build fails: a dependency upgrade
 * or a source change that moves the text is noticed here, not at run time.
 */
function exactEdits(name, files) {
  return {
    name,
    setup(pluginBuild) {
      const applied = new Set();
      pluginBuild.onEnd(() => {
        const missed = files.filter(({ file }) => !applied.has(file)).map(({ file }) => file);
        if (missed.length > 0) throw new Error(`scripts/bundle.mjs: never bundled ${missed.join(", ")}`);
      });
      for (const { file, edits, prepend = "" } of files) {
        const filter = new RegExp(`/${file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}$`);
        pluginBuild.onLoad({ filter }, async ({ path }) => {
          let text = await readFile(path, "utf8");
          for (const { from, to } of edits) {
            const at = text.indexOf(from);
            if (at < 0 || text.indexOf(from, at + 1) >= 0)
              throw new Error(`scripts/bundle.mjs: expected exactly one "${from}" in ${path}`);
            text = text.replace(from, () => to);
          }
          applied.add(file);
          return { contents: prepend + text, loader: path.endsWith(".ts") ? "ts" : "js" };
        });
      }
    },
  };
}

/** One bundle of src/cli/main.ts into staging/<folder>/. */
function bundle(folder, plugins) {
  return build({
    entryPoints: { [ENTRY]: main },
    outdir: join(staging, folder),
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
      js: "import { createRequire as __nmrCreateRequire } from 'node:module';\nconst require = __nmrCreateRequire(import.meta.url);",
    },
    legalComments: "none",
    plugins: [exactEdits("lazy-requires", LAZY_REQUIRES), ...plugins],
    logLevel: "warning",
  });
}

/** Moves staging/<folder>/ into dist/<folder>/: chunks, then the entry, then the chunks no entry names any more. */
async function install(folder) {
  const from = join(staging, folder);
  const to = join(dist, folder);
  const chunks = await readdir(join(from, CHUNKS)).catch(() => []);
  await mkdir(join(to, CHUNKS), { recursive: true });
  for (const chunk of chunks) await rename(join(from, CHUNKS, chunk), join(to, CHUNKS, chunk));
  await rename(join(from, `${ENTRY}.mjs`), join(to, `${ENTRY}.mjs`));
  // Chunks of earlier builds: every chunk is loaded in the first moments of a run (the
  // command, then the source adapter), so no run of the old entry still needs them.
  const current = new Set(chunks);
  for (const chunk of await readdir(join(to, CHUNKS)))
    if (!current.has(chunk)) await rm(join(to, CHUNKS, chunk), { force: true });
}

try {
  await Promise.all([
    bundle("cli", []),
    bundle("fetch", [exactEdits("fetch-bundle", FETCH_BUNDLE_EDITS), lazyAdapters]),
  ]);
  await install("cli");
  await install("fetch");
  await writeFile(join(staging, `${ENTRY}.mjs`), DISPATCH, { mode: 0o755 });
  await rename(join(staging, `${ENTRY}.mjs`), join(dist, `${ENTRY}.mjs`));
  // The single bundle's chunks, from before dist/cli/ and dist/fetch/.
  await rm(join(dist, CHUNKS), { recursive: true, force: true });
} finally {
  await rm(staging, { recursive: true, force: true });
}
