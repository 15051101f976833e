/**
 * The lockfile end to end with a Hugging Face Hub (the project's own server on loopback):
 * `add`, then `lib.fromLock` built by real Nix (with the server stopped: the first build
 * needs no network), the output read as huggingface_hub reads a cache offline and compared
 * with what a single-hash fetchModel writes; the per-file fixed-output derivations built
 * by Nix; `update` after upstream `main` moves; two models sharing a weight file; `nix copy`
 * to a binary cache.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lockedBlobPath, lockedSmallFilesPath, parseLockFile } from "../../src/lockfile/index.js";
import { type HubServer, startHubServer } from "../../src/serve/index.js";
import { runCli } from "../helpers/cli.js";
import { type CountingProxy, startCountingProxy } from "../helpers/counting-proxy.js";
import { assertEveryFileFoundOffline } from "../helpers/hf-offline.js";
import { type FixtureFile, writeHubRepo } from "../helpers/hub-fixture.js";
import { hubCacheWith, libPrelude, nixAvailable, nixEval, nixReadableTempDir } from "../helpers/nix.js";
import { buildAll, expectSameLayout, modelAndRaw } from "../helpers/locked.js";
import { realHubSkipReason, runRealHub } from "../helpers/hf-python.js";
import { safetensors } from "../integration/fixtures.js";

const run = promisify(execFile);
const MiB = 1024 * 1024;
/** Files from 1 MiB on are large here (the default, 64 MiB, would make the tests heavy). */
const LARGE_FROM = "1M";

/** A sharded model with fresh bytes every run, so nothing is in the store already. */
function shardedModel(config: Record<string, unknown> = {}): Record<string, Buffer | string> {
  const shards = [1, 2, 3].map((i) => [
    `model-0000${i}-of-00003.safetensors`,
    safetensors(randomBytes(MiB + i * 1000)),
  ]);
  return {
    "config.json": JSON.stringify({ model_type: "tiny", run: randomBytes(6).toString("hex"), ...config }),
    "tokenizer.json": JSON.stringify({ version: "1.0", vocab: { a: 0, b: 1 } }),
    "model.safetensors.index.json": JSON.stringify({ weight_map: { weight: "model-00001-of-00003.safetensors" } }),
    ...Object.fromEntries(shards),
  };
}

const expected = (files: readonly FixtureFile[]) => new Map(files.map((file) => [file.path, file.sha256]));

describe.skipIf(!nixAvailable)("a locked model from a Hugging Face Hub", () => {
  let root: string;
  let lockDir: string;
  let hub: HubServer;
  let proxy: CountingProxy;
  let repo: Awaited<ReturnType<typeof writeHubRepo>>;
  const env = () => ({ HF_ENDPOINT: proxy.url, HF_TOKEN: "" });

  /** The Hub reads its repos when it starts: after a change upstream it starts again, on the same port. */
  async function restartHub(): Promise<void> {
    const port = hub.port;
    await hub.close();
    hub = await startHubServer({ root, port });
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "nmr-lock-hub-"));
    lockDir = await nixReadableTempDir("nmr-lock-");
    repo = await writeHubRepo(root, { repoId: "acme/locked", files: shardedModel() });
    hub = await startHubServer({ root });
    proxy = await startCountingProxy(hub.port);
  });

  afterAll(async () => {
    await hub?.close();
    await proxy?.close();
    await rm(root, { recursive: true, force: true });
  });

  it("adds a model, and fromLock builds it with the server stopped into exactly fetchModel's layout", async () => {
    const lock = join(lockDir, "models.lock.json");
    const added = await runCli(
      ["add", "locked", "hf:acme/locked", "--lock", lock, "--large-from", LARGE_FROM, "--json"],
      {
        env: env(),
      },
    );
    expect(added.stderr).not.toContain("error");
    expect(added.code).toBe(0);
    const report = JSON.parse(added.stdout);
    expect(report).toMatchObject({ name: "locked", files: 6, largeFiles: 3, resolved: { commit: repo.commit } });

    const entry = parseLockFile(await readFile(lock), lock).models["locked"]!;
    expect(entry.source).toEqual({ target: "hf:acme/locked" });
    expect(entry.layout).toEqual({ kind: "huggingface", refs: ["main"] });
    for (const file of repo.files) {
      expect(entry.files.find((locked) => locked.path === file.path)).toMatchObject({
        size: file.size,
        sha256: file.sha256,
        large: file.size >= MiB,
        blob: file.etag,
        // For an LFS file the Hub's git oid is the pointer's.
        ids: file.lfs
          ? { gitOid: expect.stringMatching(/^[0-9a-f]{40}$/), lfsOid: file.sha256 }
          : { gitOid: file.gitOid },
      });
    }
    // Every fixed-output path is in the store already, at the path fromLock computes.
    const paths = [
      ...entry.files.filter((file) => file.large).map((file) => lockedBlobPath(file)),
      lockedSmallFilesPath("locked", entry.smallFiles!.narHash),
    ];
    expect([...report.storePaths].sort()).toEqual(paths.sort());
    for (const path of paths) expect(existsSync(path), path).toBe(true);

    // What a single-hash fetchModel of the same model writes, for comparison.
    const prefetched = await runCli(["prefetch", "hf:acme/locked", "--name", "locked", "--json"], { env: env() });
    expect(prefetched.code, prefetched.stderr).toBe(0);
    const reference = JSON.parse(prefetched.stdout).storePath as string;

    await hub.close();
    try {
      const both = await buildAll(modelAndRaw(lock, "locked"));
      expect(both.ok, both.stderr).toBe(true);
      // Nothing was fetched: no per-file derivation had to be built.
      expect(both.stderr).not.toMatch(/model-blob-|-files\.drv/);
      const [model, raw] = both.paths as [string, string];
      expect(raw).toMatch(/-locked-raw$/);
      await expectSameLayout(reference, raw);
      expect(await readFile(join(raw, ".nix-model-repo-meta.json"), "utf8")).toBe(
        await readFile(join(reference, ".nix-model-repo-meta.json"), "utf8"),
      );
      // The validated model loads offline, by branch and by commit, with the source's bytes.
      const cache = await hubCacheWith(model, "acme/locked");
      const found = await assertEveryFileFoundOffline(cache, "acme/locked", expected(repo.files), {
        linkedBlobs: true,
      });
      expect(found.commit).toBe(repo.commit);
      await assertEveryFileFoundOffline(cache, "acme/locked", expected(repo.files), {
        revision: repo.commit,
        linkedBlobs: true,
      });
    } finally {
      await restartHub();
      proxy.retarget(hub.port);
    }
  });

  it.skipIf(realHubSkipReason !== undefined)(
    `the real huggingface_hub loads the locked model offline (${realHubSkipReason ? "skipped: set HUGGINGFACE_HUB_SRC to run" : "HUGGINGFACE_HUB_SRC"})`,
    async () => {
      const lock = join(lockDir, "models.lock.json");
      const built = await buildAll(`${libPrelude} (nmr.fromLock ${lock}).locked`);
      expect(built.ok, built.stderr).toBe(true);
      const cache = await hubCacheWith(built.paths[0]!, "acme/locked");
      const outcomes = await runRealHub(cache, [
        ...repo.files.map((file) => ({ op: "hf_hub_download" as const, repoId: "acme/locked", filename: file.path })),
        { op: "snapshot_download", repoId: "acme/locked" },
        { op: "snapshot_download", repoId: "acme/locked", revision: "main" },
        { op: "snapshot_download", repoId: "acme/locked", revision: repo.commit },
        { op: "scan_cache_dir" },
      ]);
      for (const [index, outcome] of outcomes.entries()) {
        expect(outcome, JSON.stringify(outcome)).toMatchObject({ ok: true });
        if (index < repo.files.length) {
          const content = await readFile((outcome as { value: string }).value);
          expect(content.equals(repo.files[index]!.content)).toBe(true);
        }
      }
      expect((outcomes.at(-1) as unknown as { value: { warnings: unknown[] } }).value.warnings).toEqual([]);
    },
  );

  it("builds every file in fixed-output derivations of its own when the store lacks them, each once", async () => {
    const fresh = await writeHubRepo(root, { repoId: "acme/fod", files: shardedModel() });
    await restartHub();
    proxy.retarget(hub.port);
    const lock = join(lockDir, "fod.lock.json");
    // Without nix-store on PATH, `add` writes the lock and adds nothing: the build must fetch.
    const added = await runCli(["add", "fod", "hf:acme/fod", "--lock", lock, "--large-from", LARGE_FROM], {
      env: { ...env(), PATH: "/nonexistent" },
    });
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain("not added to the store");
    const entry = parseLockFile(await readFile(lock), lock).models["fod"]!;
    for (const file of entry.files.filter((f) => f.large)) expect(existsSync(lockedBlobPath(file))).toBe(false);

    hub.clearRequests();
    const built = await buildAll(modelAndRaw(lock, "fod"), env());
    expect(built.ok, built.stderr).toBe(true);
    // One fixed-output derivation per large file, one for the small files: each fetched its own files, once.
    expect(built.stderr.match(/building '[^']*-model-blob-[0-9a-f]{64}\.drv'/g)).toHaveLength(3);
    expect(built.stderr.match(/building '[^']*-fod-files\.drv'/g)).toHaveLength(1);
    const downloads = hub.requests.filter((request) => request.route === "resolve" && request.method === "GET");
    expect(downloads.map((request) => decodeURIComponent(request.url.split("/").pop()!)).sort()).toEqual(
      fresh.files.map((file) => file.path).sort(),
    );
    // At exactly the paths the lock names: a second model with these bytes would share them.
    for (const file of entry.files.filter((f) => f.large)) expect(existsSync(lockedBlobPath(file))).toBe(true);
    expect(existsSync(lockedSmallFilesPath("fod", entry.smallFiles!.narHash))).toBe(true);
    await assertEveryFileFoundOffline(
      await hubCacheWith(built.paths[0]!, "acme/fod"),
      "acme/fod",
      expected(fresh.files),
      {
        linkedBlobs: true,
      },
    );
  });

  it("updates after main moves: exactly config.json changed, only it downloaded, large files keep their paths", async () => {
    const lock = join(lockDir, "models.lock.json");
    const before = parseLockFile(await readFile(lock), lock).models["locked"]!;
    const blobPaths = async () =>
      (
        await nixEval(
          `${libPrelude} builtins.mapAttrs (_: d: d.outPath) (nmr.fromLock ${lock}).locked.lockedFiles.blobs`,
        )
      ).value;
    const pathsBefore = await blobPaths();

    // Upstream: a new commit on main that changes config.json only.
    const files = Object.fromEntries(repo.files.map((file) => [file.path, file.content]));
    const moved = await writeHubRepo(root, {
      repoId: "acme/locked",
      files: {
        ...files,
        "config.json": JSON.stringify({ model_type: "tiny", revised: randomBytes(6).toString("hex") }),
      },
    });
    await restartHub();
    proxy.retarget(hub.port);
    const newConfig = moved.files.find((file) => file.path === "config.json")!;

    const dry = await runCli(["update", "--dry-run", "--json", "--lock", lock, "--large-from", LARGE_FROM], {
      env: env(),
    });
    expect(dry.code, dry.stderr).toBe(0);
    const planned = JSON.parse(dry.stdout).models[0];
    expect(planned).toMatchObject({
      name: "locked",
      status: "moved",
      resolved: { before: { commit: repo.commit }, after: { commit: moved.commit } },
      added: [],
      removed: [],
      changed: [{ path: "config.json", after: newConfig.size }],
      unchanged: { files: 5 },
      download: { files: 1, bytes: newConfig.size },
    });
    expect(await readFile(lock, "utf8")).toContain(repo.commit); // a dry run writes nothing

    hub.clearRequests();
    proxy.reset();
    const updated = await runCli(["update", "locked", "--lock", lock, "--large-from", LARGE_FROM], { env: env() });
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stdout).toContain("changed   config.json");
    // At the server: one file downloaded, config.json; the rest of the traffic is the two API calls.
    const downloads = hub.requests.filter((request) => request.route === "resolve");
    expect(downloads.map((request) => request.url)).toEqual([`/acme/locked/resolve/${moved.commit}/config.json`]);
    expect(proxy.bytesToClient()).toBeGreaterThan(newConfig.size);
    expect(proxy.bytesToClient()).toBeLessThan(64 * 1024); // a shard is more than 1 MiB

    const after = parseLockFile(await readFile(lock), lock).models["locked"]!;
    expect(after.resolved).toEqual({ commit: moved.commit });
    expect(after.files.find((file) => file.path === "config.json")).toMatchObject({ sha256: newConfig.sha256 });
    expect(after.files.filter((file) => file.large)).toEqual(before.files.filter((file) => file.large));
    expect(await blobPaths()).toEqual(pathsBefore);

    // The new small files were added: the build needs no network, and serves the new config.
    await hub.close();
    try {
      const built = await buildAll(`${libPrelude} (nmr.fromLock ${lock}).locked`);
      expect(built.ok, built.stderr).toBe(true);
      expect(built.stderr).not.toMatch(/model-blob-|-files\.drv/);
      await assertEveryFileFoundOffline(
        await hubCacheWith(built.paths[0]!, "acme/locked"),
        "acme/locked",
        expected(moved.files),
        {
          linkedBlobs: true,
        },
      );
    } finally {
      await restartHub();
      proxy.retarget(hub.port);
    }

    const again = await runCli(["update", "--lock", lock, "--large-from", LARGE_FROM], { env: env() });
    expect(again.stdout).toContain("locked: unchanged");
    expect(again.stdout).toContain("nothing to update");
  });

  it("is what mkHfHub and mkShellHook take: two locked revisions of one repo in one Hub cache", async () => {
    // After the update: `locked` is main's new commit; lock the first commit beside it.
    const lock = join(lockDir, "models.lock.json");
    const added = await runCli(
      ["add", "locked-first", `hf:acme/locked@${repo.commit}`, "--lock", lock, "--large-from", LARGE_FROM],
      {
        env: env(),
      },
    );
    expect(added.code, added.stderr).toBe(0);
    const locked = parseLockFile(await readFile(lock), lock).models;
    const latest = locked["locked"]!.resolved["commit"]!;
    expect(latest).not.toBe(repo.commit);
    await hub.close();
    try {
      const built = await buildAll(
        `${libPrelude} let m = nmr.fromLock ${lock}; in nmr.integration.mkHfHub { models = [ m.locked m.locked-first ]; }`,
      );
      expect(built.ok, built.stderr).toBe(true);
      const hubDir = built.paths[0]!;
      const hook = await nixEval(`${libPrelude} nmr.mkShellHook { models = [ (nmr.fromLock ${lock}).locked ]; }`);
      expect(hook.stderr).toBe("");
      expect(hook.value).toContain("HF_HUB_OFFLINE");
      const first = expected(repo.files);
      const files = Object.fromEntries(locked["locked"]!.files.map((file) => [file.path, file.sha256]));
      await assertEveryFileFoundOffline(hubDir, "acme/locked", new Map(Object.entries(files)), { linkedBlobs: true });
      await assertEveryFileFoundOffline(hubDir, "acme/locked", first, { revision: repo.commit, linkedBlobs: true });
    } finally {
      await restartHub();
      proxy.retarget(hub.port);
    }
  });

  it("stores a weight file two models share once, and downloads it once", async () => {
    const shared = safetensors(randomBytes(MiB + 77));
    const [a] = await Promise.all(
      ["share-a", "share-b"].map((name) =>
        writeHubRepo(root, {
          repoId: `acme/${name}`,
          files: {
            "config.json": JSON.stringify({ name, run: randomBytes(4).toString("hex") }),
            "model.safetensors": shared,
          },
        }),
      ),
    );
    await restartHub();
    proxy.retarget(hub.port);
    const sharedSha = a!.files.find((file) => file.path === "model.safetensors")!.sha256;
    const isSharedDownload = (request: { route: string; url: string }) =>
      request.route === "resolve" && request.url.endsWith("/model.safetensors");

    // add: the second model finds the weights in the store and does not download them.
    const lock = join(lockDir, "shared.lock.json");
    hub.clearRequests();
    for (const name of ["share-a", "share-b"]) {
      const added = await runCli(["add", name, `hf:acme/${name}`, "--lock", lock, "--large-from", LARGE_FROM], {
        env: env(),
      });
      expect(added.code, added.stderr).toBe(0);
    }
    expect(hub.requests.filter(isSharedDownload)).toHaveLength(1);
    const paths = (
      await nixEval(
        `${libPrelude} let m = nmr.fromLock ${lock}; in [ m.share-a.lockedFiles.blobs."${sharedSha}".outPath m.share-b.lockedFiles.blobs."${sharedSha}".outPath ]`,
      )
    ).value as string[];
    expect(paths[0]).toBe(paths[1]);
    expect(paths[0]).toBe(lockedBlobPath({ sha256: sharedSha }));

    // A Nix build of two more models sharing weights that are not in the store: fetched once.
    const lock2 = join(lockDir, "shared2.lock.json");
    const sharedElsewhere = safetensors(randomBytes(MiB + 99));
    await writeHubRepo(root, {
      repoId: "acme/share-c",
      files: { "config.json": '{"c":1}', "model.safetensors": sharedElsewhere },
    });
    await writeHubRepo(root, {
      repoId: "acme/share-d",
      files: { "config.json": '{"d":1}', "model.safetensors": sharedElsewhere },
    });
    await restartHub();
    proxy.retarget(hub.port);
    for (const name of ["share-c", "share-d"]) {
      const added = await runCli(["add", name, `hf:acme/${name}`, "--lock", lock2, "--large-from", LARGE_FROM], {
        env: { ...env(), PATH: "/nonexistent" },
      });
      expect(added.code, added.stderr).toBe(0);
    }
    hub.clearRequests();
    const built = await buildAll(`${libPrelude} let m = nmr.fromLock ${lock2}; in [ m.share-c m.share-d ]`, env());
    expect(built.ok, built.stderr).toBe(true);
    expect(hub.requests.filter(isSharedDownload)).toHaveLength(1);
  });

  it("copies a locked model to a binary cache as one NAR per large file", async () => {
    const lock = join(lockDir, "models.lock.json");
    const built = await buildAll(`${libPrelude} (nmr.fromLock ${lock}).locked`);
    expect(built.ok, built.stderr).toBe(true);
    const cache = await mkdtemp(join(tmpdir(), "nmr-binary-cache-"));
    try {
      await run(
        "nix",
        [
          "--extra-experimental-features",
          "nix-command",
          "copy",
          "--to",
          `file://${cache}?compression=none`,
          built.paths[0]!,
        ],
        { maxBuffer: 16 << 20 },
      );
      const entry = parseLockFile(await readFile(lock), lock).models["locked"]!;
      const narinfos = new Map<string, string>();
      for (const name of (await readdir(cache)).filter((n) => n.endsWith(".narinfo")))
        narinfos.set(name, await readFile(join(cache, name), "utf8"));
      const storePathOf = (info: string) => /^StorePath: (.*)$/m.exec(info)![1]!;
      const narSizeOf = (info: string) => Number(/^NarSize: (\d+)$/m.exec(info)![1]);
      for (const file of entry.files.filter((f) => f.large)) {
        const info = [...narinfos.values()].find((text) => storePathOf(text) === lockedBlobPath(file));
        expect(info, file.path).toBeDefined();
        // A flat file's NAR is the file plus a few hundred bytes of framing.
        expect(narSizeOf(info!) - file.size).toBeLessThan(512);
      }
      // No NAR holds more than the largest file: the model never travels as one archive.
      const largest = Math.max(...entry.files.map((f) => f.size));
      for (const info of narinfos.values()) expect(narSizeOf(info)).toBeLessThan(largest + 512);
    } finally {
      await rm(cache, { recursive: true, force: true });
    }
  });
});
