/**
 * The bundle scripts/bundle.mjs writes (dist/: the entry and the chunks it loads), as the
 * Nix build makes it: there package.json is the one importNpmLock rewrites with a
 * /nix/store tarball for every dependency, so a bundle that embedded it would make all of
 * them (typescript, vitest, ...) references of the fetcher, and so of every fixed-output
 * derivation. No file of it may hold a store path or any of the devDependencies, and it
 * must still know its version.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cp, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { gzipSync } from "node:zlib";
import { dirname, join, relative, resolve } from "node:path";
import { repoRoot } from "../helpers/nix.js";
import { cliPath, fetchCommand, runCli } from "../helpers/cli.js";
import { cliNodes } from "../helpers/cli-nodes.js";
import { writeHubRepo } from "../helpers/hub-fixture.js";
import { tar } from "../helpers/tar-builder.js";
import { startHubServer } from "../../src/serve/index.js";

interface PackageJson {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

const packageJson = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as PackageJson;

/** A store path as importNpmLock writes them: `file:/nix/store/<hash>-<name>-<version>.tgz`. */
function storeTarball(name: string): string {
  return `file:/nix/store/${"0".repeat(32)}-${name.replace(/[@/]/g, "-")}.tgz`;
}

/** Every file of a bundle folder (the entry and its chunks), joined. */
async function bundleText(dist: string): Promise<string> {
  const files = (await readdir(dist, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile());
  expect(files.map((entry) => entry.name)).toContain("nix-model-repo.mjs");
  const texts = await Promise.all(files.map((entry) => readFile(join(entry.parentPath, entry.name), "utf8")));
  return texts.join("\n");
}

/** Whether the bundle carries a package.json entry for `name` ("name": "range" in any quoting). */
function hasEntry(bundle: string, name: string, range: string): boolean {
  const quotedName = name.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  const quotedRange = range.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  return new RegExp(`["']?${quotedName}["']?\\s*:\\s*["']${quotedRange}["']`).test(bundle);
}

describe("the bundle (scripts/bundle.mjs)", () => {
  let work: string;
  let bundle: string;
  let rewritten: PackageJson;

  beforeAll(async () => {
    // The source tree as the Nix build sees it, with package.json as importNpmLock's
    // npmConfigHook leaves it (pkgs/build-support/node/import-npm-lock/default.nix).
    work = await mkdtemp(join(tmpdir(), "nmr-bundle-"));
    for (const entry of ["src", "scripts", "tsconfig.json", "package-lock.json"])
      await cp(join(repoRoot, entry), join(work, entry), { recursive: true });
    await symlink(join(repoRoot, "node_modules"), join(work, "node_modules"));
    rewritten = {
      ...packageJson,
      dependencies: Object.fromEntries(Object.keys(packageJson.dependencies).map((n) => [n, storeTarball(n)])),
      devDependencies: Object.fromEntries(Object.keys(packageJson.devDependencies).map((n) => [n, storeTarball(n)])),
    };
    await writeFile(join(work, "package.json"), JSON.stringify(rewritten, null, 2));
    execFileSync(process.execPath, [join(work, "scripts", "bundle.mjs")], { cwd: work, stdio: "pipe" });
    bundle = await bundleText(join(work, "dist"));
  }, 120_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("holds no /nix/store path when package.json names store tarballs", () => {
    expect(bundle).not.toContain("/nix/store/");
  });

  it("holds none of package.json's devDependencies, as written or as rewritten", async () => {
    for (const [name, range] of Object.entries(packageJson.devDependencies)) {
      expect(hasEntry(bundle, name, range), `${name}: ${range}`).toBe(false);
      expect(hasEntry(bundle, name, rewritten.devDependencies[name]!), name).toBe(false);
    }
    // The checkout's own bundle, which the tests run, neither.
    const own = await bundleText(join(repoRoot, "dist"));
    expect(own).not.toContain("/nix/store/");
    for (const [name, range] of Object.entries(packageJson.devDependencies))
      expect(hasEntry(own, name, range), `${name}: ${range}`).toBe(false);
  });

  it("is the entry and exactly the chunks it can load: every command runs from it", async () => {
    const dist = join(repoRoot, "dist");
    const files = (await readdir(dist, { recursive: true, withFileTypes: true }))
      .filter((entry) => entry.isFile())
      .map((entry) => relative(dist, join(entry.parentPath, entry.name)));
    const reachable = new Set<string>();
    const pending = ["nix-model-repo.mjs"];
    for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
      if (reachable.has(file)) continue;
      reachable.add(file);
      const text = await readFile(join(dist, file), "utf8");
      // Static and dynamic imports only: esbuild also keys lazily run modules by their
      // source path, which starts with "../" when node_modules lies outside the checkout.
      for (const [, specifier] of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.\.?\/[^"']+\.mjs)["']/g))
        pending.push(relative(dist, resolve(dist, dirname(file), specifier!)));
    }
    // Nothing stale from an earlier build, nothing missing.
    expect(files.sort()).toEqual([...reachable].sort());
    const printed = execFileSync(process.execPath, [join(dist, "nix-model-repo.mjs"), "hash", "--hex", dist]);
    expect(printed.toString().trim()).toMatch(/^[0-9a-f]{64}$/);
  });

  // Importing a value from "undici" anywhere in src/ would bring back its index, and with it
  // fetch, WebSocket and the rest it exports: ~0.1 s of every run (src/http/undici.ts).
  // esbuild names each bundled module in a comment; the first check shows the comments are there.
  it("loads undici's dispatcher and request API through src/http/undici.ts, never its index", () => {
    expect(bundle).toContain("node_modules/undici/lib/api/api-request.js");
    expect(bundle).not.toContain("node_modules/undici/index.js");
  });

  // node decodes a module holding any character beyond ASCII into a two-byte string, slowly:
  // one `→` in a comment esbuild kept cost every fetch ~5 ms (scripts/bundle.mjs, asciiOnly).
  it("is ASCII only, comments and regular expressions too", () => {
    const beyond = /[^\x00-\x7f]/.exec(bundle);
    expect(beyond?.[0], beyond ? bundle.slice(beyond.index - 60, beyond.index + 20) : "").toBeUndefined();
    expect(bundle).toContain("\\u2192"); // the comment of src/sources/http/prefetch-target.ts, escaped
  });

  /**
   * Runs the built CLI twice on one spec: with a module hook that records every file it loads
   * (ESM), then with a preload that records node's list of the built-in modules it loaded
   * by its exit. Two runs, because the hook runs on a thread of its own, which loads
   * node:worker_threads and more into the process it watches.
   */
  async function runRecorded(name: string, spec: Readonly<Record<string, unknown>>, node?: string) {
    const record = join(work, `loaded-${name}`);
    const hooks = join(work, `record-hooks-${name}.mjs`);
    await writeFile(
      hooks,
      `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(${JSON.stringify(`${record}-files`)}, resolved.url + "\\n");
  return resolved;
}`,
    );
    const register = join(work, `record-register-${name}.mjs`);
    await writeFile(
      register,
      `import { register } from "node:module";
register(${JSON.stringify(`file://${hooks}`)});`,
    );
    const recordNatives = join(work, `record-natives-${name}.cjs`);
    await writeFile(
      recordNatives,
      `process.on("exit", () => {
  const natives = process.moduleLoadList.filter((m) => m.startsWith("NativeModule ")).map((m) => m.slice(13));
  require("node:fs").writeFileSync(${JSON.stringify(`${record}-natives`)}, natives.join("\\n"));
});`,
    );
    const hooked = await fetchCommand(join(work, `${name}-hooked`), spec);
    const result = await runCli(hooked.args, { nodeArgs: ["--import", register], node });
    const plain = await fetchCommand(join(work, name), spec);
    const plainResult = await runCli(plain.args, { nodeArgs: ["--require", recordNatives], node });
    expect(plainResult.code, plainResult.stderr).toBe(result.code);
    // Resolved once per import of it: each file once.
    const files = [
      ...new Set(
        (await readFile(`${record}-files`, "utf8"))
          .trim()
          .split("\n")
          .filter((url) => url.startsWith("file:")),
      ),
    ];
    const texts = await Promise.all(files.map((url) => readFile(new URL(url), "utf8")));
    const natives = (await readFile(`${record}-natives`, "utf8")).split("\n");
    // esbuild names each bundled module in a comment: `loaded` shows what was loaded.
    return { result, out: plain.out, files, loaded: texts.join("\n"), natives };
  }

  /**
   * A Hub serving acme/tiny (one config.json) from a folder of its own, named after `prefix`
   * and the node binary; `use` gets the folder's name (a tag for files the run writes) and
   * the tiny repo's spec.
   */
  async function withTinyHub(
    prefix: string,
    node: string,
    use: (tag: string, spec: Record<string, unknown>) => Promise<void>,
  ) {
    const tag = `${prefix}-${createHash("sha1").update(node).digest("hex").slice(0, 8)}`;
    const root = join(work, tag);
    await writeHubRepo(root, { repoId: "acme/tiny", files: { "config.json": "{}" } });
    const hub = await startHubServer({ root });
    try {
      await use(tag, { name: "tiny", source: { type: "huggingface", repo: "acme/tiny", endpoint: hub.url } });
    } finally {
      await hub.close();
    }
  }

  // What a fetch from the Hub loads is the fixed cost every fetch pays, once per file
  // with a lockfile (docs/bench.md, "Third round" and "Fourth round"). On nixpkgs' Node (24),
  // which runs it in every fixed-output derivation, an ES import of node:http alone loaded
  // http2, tls, zlib and worker_threads (scripts/bundle.mjs, builtinsThroughRequire).
  for (const { label, path: node } of cliNodes)
    it.skipIf(node === undefined)(
      `fetches from a Hub over plain HTTP from three files of the fetch bundle, loading nothing that only other sources, serve, a failure or a large file need, on ${label}`,
      () =>
        withTinyHub("hub", node!, async (tag, spec) => {
          const { result, out, files, loaded, natives } = await runRecorded(tag, spec, node);
          expect(result.code, result.stderr).toBe(0);
          expect(
            await readFile(join(out, "snapshots", (await readdir(join(out, "snapshots")))[0]!, "config.json"), "utf8"),
          ).toBe("{}");

          expect(files).toContain(`file://${cliPath}`);
          // `fetch` runs from its own bundle (scripts/bundle.mjs): the entry, then dist/fetch/'s
          // main file, the chunk it shares with the adapters it loads on demand (S3, MLflow,
          // git), and esbuild's helpers. Every file costs loading; the whole CLI's bundle
          // loaded 30 for this fetch.
          const fromBundle = files.filter((url) => url !== `file://${cliPath}`);
          expect(fromBundle.every((url) => url.startsWith(`file://${join(dirname(cliPath), "fetch")}/`))).toBe(true);
          expect(fromBundle.length, fromBundle.join("\n")).toBeLessThanOrEqual(3);
          expect(loaded).toContain("src/sources/huggingface/adapter.ts");
          expect(loaded).toContain("node_modules/undici/lib/api/api-request.js");
          expect(loaded).not.toContain("node_modules/@aws-sdk/");
          expect(loaded).not.toContain("src/scan/");
          expect(loaded).not.toContain("src/serve/");
          // Only `serve` computes Xet hashes: src/xet/hash.ts compiles BLAKE3's WebAssembly as it loads.
          expect(loaded).not.toContain("node_modules/hash-wasm/");
          // Only archive sources unpack (the test below shows these are loaded then).
          for (const archiveReader of ["node_modules/tar-stream/", "node_modules/streamx/"])
            expect(loaded).not.toContain(archiveReader);

          expect(natives).toContain("net"); // the list is there: undici's HTTP/1 client connects with it
          // http2 and tls: HTTPS or HTTP/2 only; child_process: a notify hook or git; zlib: a
          // compressed body or an archive; worker_threads: a hashing thread (large files, > 2 cores).
          // http: a failed response's status text, `serve`, or undici's default header limit
          // (src/http/dispatcher.ts gives its own); assert: one of undici's checks failing
          // (src/http/undici-assert.cjs). internal/deps/undici/undici: node's own fetch(), not
          // the undici bundled here.
          for (const unneeded of [
            "http",
            "assert",
            "http2",
            "tls",
            "child_process",
            "zlib",
            "worker_threads",
            "internal/deps/undici/undici",
          ])
            expect(natives, unneeded).not.toContain(unneeded);
        }),
      60_000,
    );

  // V8 recompiles hot WebAssembly with TurboFan on a background thread, and node waits for
  // that job at exit: 0.11-0.17 s of compiling for the main function of undici's HTTP parser
  // in a tiny fetch, unless src/cli/main.ts's V8 flags keep every function on Liftoff (on
  // Node 24 only with the flags --liftoff-only implies when given at start-up; docs/bench.md,
  // "Seventh round").
  for (const { label, path: node } of cliNodes)
    it.skipIf(node === undefined)(
      `compiles undici's HTTP parser with Liftoff only, never TurboFan, on ${label}`,
      () =>
        withTinyHub("liftoff", node!, async (tag, spec) => {
          const fetch = await fetchCommand(join(work, tag), spec);
          const result = await runCli([...fetch.args, "-q"], { nodeArgs: ["--trace-wasm-compilation-times"], node });
          expect(result.code, result.stderr).toBe(0);
          // V8 prints a line per compiled function: "Compiled function … using Liftoff, took …".
          const compiled = result.stdout.split("\n").filter((line) => line.startsWith("Compiled function"));
          expect(compiled.filter((line) => line.includes("using Liftoff")).length).toBeGreaterThan(0);
          expect(compiled.filter((line) => !line.includes("using Liftoff"))).toEqual([]);
        }),
      60_000,
    );

  it("unpacks a tar.gz from a url source with the archive reader and node:zlib loaded on demand", async () => {
    const archive = gzipSync(await tar([{ name: "weights/config.json", content: '{"unpacked":true}' }]));
    const hubRoot = join(work, "hub-archive");
    await writeHubRepo(hubRoot, { repoId: "acme/archive", files: { "model.tar.gz": archive } });
    const hub = await startHubServer({ root: hubRoot });
    try {
      const { result, out, loaded, natives } = await runRecorded("archive", {
        name: "archive",
        source: {
          type: "url",
          urls: [
            {
              url: `${hub.url}/acme/archive/resolve/main/model.tar.gz`,
              sha256: createHash("sha256").update(archive).digest("hex"),
            },
          ],
          unpack: true,
        },
      });
      expect(result.code, result.stderr).toBe(0);
      const written = (await readdir(out, { recursive: true })).filter((path) => path.endsWith("config.json"));
      expect(written.length, written.join(", ")).toBe(1);
      expect(await readFile(join(out, written[0]!), "utf8")).toBe('{"unpacked":true}');
      expect(loaded).toContain("node_modules/tar-stream/");
      expect(natives).toContain("zlib");
    } finally {
      await hub.close();
    }
  }, 60_000);

  it("still knows its version: package.json's, inlined", () => {
    const printed = execFileSync(process.execPath, [join(work, "dist", "nix-model-repo.mjs"), "--version"]).toString();
    expect(printed.trim()).toBe(packageJson.version);
  });
});
