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
// only the fetch command and the light adapters imported statically (FETCH_BUNDLE_MODULES): a
// Hub fetch loads four files, ~0.025 s less CPU (docs/bench.md, "Third round"). It costs
// ~2.5 MB more in dist/ (undici, the AWS SDK and our fetch code are in both bundles). A
// run loads one bundle only: no module is ever loaded twice under two names.
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";

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
// Written by scripts/bundle.mjs: "fetch" runs from its own bundle, every other command from
// the whole CLI's. Both are src/cli/main.ts; a run loads one of them, never both.
if (process.argv[2] === "fetch") await import("./fetch/${ENTRY}.mjs");
else await import("./cli/${ENTRY}.mjs");
`;

// Modules of src/ the fetch bundle is built with in place of others, each a TypeScript
// module of its own that says why: only `fetch`, imported statically, and the adapters in
// the main file or in one module loaded on demand, so that the bundle is a main file plus
// the one chunk it shares with that module, not a chunk for each command and for each set
// of adapters sharing code.
const FETCH_BUNDLE_MODULES = {
  "src/cli/commands/index.ts": "src/cli/commands/fetch-only.ts",
  "src/sources/adapter-loaders.ts": "src/sources/adapter-loaders-fetch.ts",
};

/**
 * esbuild plugin resolving each module of `replacements` (paths from the checkout's root) to
 * its replacement. Every one must be replaced, or the build fails: a module that moved is
 * noticed here, not by a bundle that quietly holds every command again.
 */
function replaceModules(name, replacements) {
  const root = new URL("../", import.meta.url).pathname;
  const byPath = new Map(Object.entries(replacements).map(([from, to]) => [join(root, from), join(root, to)]));
  return {
    name,
    setup(pluginBuild) {
      const replaced = new Set();
      pluginBuild.onResolve({ filter: /^\.\.?\// }, ({ path, resolveDir }) => {
        // Our sources import ./x.js for ./x.ts, as TypeScript's NodeNext resolution wants.
        const source = resolve(resolveDir, path).replace(/\.js$/, ".ts");
        const replacement = byPath.get(source);
        if (replacement === undefined) return undefined;
        replaced.add(source);
        return { path: replacement };
      });
      pluginBuild.onEnd(() => {
        const missed = [...byPath.keys()].filter((path) => !replaced.has(path));
        if (missed.length > 0) throw new Error(`scripts/bundle.mjs: never imported ${missed.join(", ")}`);
      });
    },
  };
}

/**
 * esbuild plugin rewriting, in every file it writes, each ES import of a built-in module into a
 * require(), the way the CommonJS dependencies (undici) load theirs. An ES import makes node
 * build the module's facade, which reads every export, lazy getters too: on Node 22 and later
 * (nixpkgs' nodejs-slim, which runs every fixed-output derivation, is 24) `import {
 * STATUS_CODES } from "node:http"` alone loaded node's own undici, http2, tls, zlib and
 * worker_threads into every fetch, ~0.02 s (docs/bench.md, "Seventh round"). A destructuring
 * require reads only the names imported. esbuild writes these imports in two shapes, `{ a, b
 * as c }` and `* as d`; any other fails the build, so that a new one is seen and handled.
 */
function builtinsThroughRequire() {
  const builtinImport = /^import\s+([^;]*?)\s+from\s+"(node:[^"]+)";/gms;
  const rewrite = (file, clause, specifier) => {
    const namespace = /^\*\s+as\s+([\w$]+)$/.exec(clause);
    if (namespace) return `const ${namespace[1]} = require("${specifier}");`;
    const named = /^\{([^}]*)\}$/.exec(clause);
    if (!named) throw new Error(`scripts/bundle.mjs: ${file}: cannot rewrite import ${clause} from "${specifier}"`);
    const bindings = named[1]
      .split(",")
      .map((binding) => binding.trim())
      .filter((binding) => binding !== "")
      .map((binding) => {
        const [name, local] = binding.split(/\s+as\s+/);
        // `default` of a facade is the whole module, which a destructuring would not give.
        if (name === "default" || !/^[\w$]+$/.test(name) || (local !== undefined && !/^[\w$]+$/.test(local)))
          throw new Error(`scripts/bundle.mjs: ${file}: cannot rewrite import { ${binding} } from "${specifier}"`);
        return local === undefined ? name : `${name}: ${local}`;
      });
    return `const { ${bindings.join(", ")} } = require("${specifier}");`;
  };
  return rewritingOutputs("builtins-through-require", (text, file) =>
    text.replace(builtinImport, (_, clause, specifier) => rewrite(file, clause, specifier)),
  );
}

/**
 * esbuild plugin giving undici src/http/undici-assert.cjs for node:assert: a function that
 * loads node:assert only when a check fails (~4 ms of every fetch on Node 24 otherwise;
 * docs/bench.md, "Eleventh round"). undici calls only `assert(value[, message])`; a file of
 * undici using any other part of node:assert (`assert.equal`, …) fails the build, so that an
 * upgrade of undici that starts to is seen here, not as a TypeError in a fetch.
 */
function undiciAssertOnFailure() {
  const replacement = new URL("../src/http/undici-assert.cjs", import.meta.url).pathname;
  return {
    name: "undici-assert-on-failure",
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /^(node:)?assert$/ }, ({ importer }) => {
        if (!importer.includes("/node_modules/undici/")) return undefined;
        const other = /\bassert\.[\w$]+/.exec(readFileSync(importer, "utf8"));
        if (other)
          throw new Error(
            `scripts/bundle.mjs: ${importer} uses ${other[0]}; src/http/undici-assert.cjs has only assert()`,
          );
        return { path: replacement };
      });
    },
  };
}

/**
 * esbuild plugin escaping every character beyond ASCII in the files it writes, as `\uXXXX`.
 * esbuild escapes them in strings, but not in the comments it keeps or in regular
 * expressions; one `→` in a comment made node decode the whole file as UTF-8 into a
 * two-byte string, ~5 ms of every fetch for the fetch bundle's two files (docs/bench.md,
 * "Eleventh round"). An escape means the same character in a regular expression, and in a
 * comment it is only text.
 */
function asciiOnly() {
  return rewritingOutputs("ascii-only", (text) =>
    text.replace(/[^\x00-\x7f]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, "0")}`),
  );
}

/**
 * esbuild plugin that, once a build has succeeded, replaces the text of every file it wrote
 * with `transform(text, file)` (esbuild runs the plugins' end callbacks one after another).
 */
function rewritingOutputs(name, transform) {
  return {
    name,
    setup(pluginBuild) {
      pluginBuild.initialOptions.metafile = true;
      pluginBuild.onEnd(async (result) => {
        if (result.errors.length > 0) return;
        for (const file of Object.keys(result.metafile.outputs)) {
          const text = await readFile(file, "utf8");
          const rewritten = transform(text, file);
          if (rewritten !== text) await writeFile(file, rewritten);
        }
      });
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
    // lz4_flex's WebAssembly (src/xet/lz4-wasm.ts), inlined as base64 and decoded on first
    // use (the `binary` loader decodes as the bundle loads): dist/ is all the fetcher ships.
    loader: { ".wasm": "base64" },
    plugins: [undiciAssertOnFailure(), builtinsThroughRequire(), asciiOnly(), ...plugins],
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
  await Promise.all([bundle("cli", []), bundle("fetch", [replaceModules("fetch-bundle", FETCH_BUNDLE_MODULES)])]);
  await install("cli");
  await install("fetch");
  await writeFile(join(staging, `${ENTRY}.mjs`), DISPATCH, { mode: 0o755 });
  await rename(join(staging, `${ENTRY}.mjs`), join(dist, `${ENTRY}.mjs`));
  // The single bundle's chunks, from before dist/cli/ and dist/fetch/.
  await rm(join(dist, CHUNKS), { recursive: true, force: true });
} finally {
  await rm(staging, { recursive: true, force: true });
}
