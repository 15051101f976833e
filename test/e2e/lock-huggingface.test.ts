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
import { lstat, mkdtemp, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
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
import { hubCacheWith, libPrelude, nixAvailable, nixReadableTempDir } from "../helpers/nix.js";
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

/** nix-build of a list of derivations: every out path, in order. */
async function buildAll(
  expression: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ ok: boolean; paths: string[]; stderr: string }> {
  const dir = await nixReadableTempDir("nmr-lock-expr-");
  const file = join(dir, "default.nix");
  await writeFile(file, expression);
  try {
    const { stdout, stderr } = await run("nix-build", ["--no-out-link", "--option", "substituters", "", file], {
      env: { ...process.env, ...env },
      maxBuffer: 64 << 20,
      timeout: 300_000,
    });
    return { ok: true, paths: stdout.trim().split("\n"), stderr };
  } catch (error) {
    return { ok: false, paths: [], stderr: String((error as { stderr?: string }).stderr ?? error) };
  }
}

const expected = (files: readonly FixtureFile[]) => new Map(files.map((file) => [file.path, file.sha256]));

/** The same layout: every entry of `reference` (a fetchModel output) in `assembled`, blobs as links to the same bytes. */
async function expectSameLayout(reference: string, assembled: string, relative = ""): Promise<void> {
  const names = (await readdir(join(reference, relative))).sort();
  expect((await readdir(join(assembled, relative))).sort(), `entries of ${relative || "/"}`).toEqual(names);
  for (const name of names) {
    const path = join(relative, name);
    const ref = await lstat(join(reference, path));
    const got = await lstat(join(assembled, path));
    if (ref.isDirectory()) {
      expect(got.isDirectory(), path).toBe(true);
      await expectSameLayout(reference, assembled, path);
    } else if (ref.isSymbolicLink()) {
      expect(await readlink(join(assembled, path)), path).toBe(await readlink(join(reference, path)));
    } else if (relative === "blobs") {
      // A blob is a link to the fixed-output path that holds exactly its bytes.
      expect(got.isSymbolicLink(), path).toBe(true);
      expect((await readFile(join(assembled, path))).equals(await readFile(join(reference, path))), path).toBe(true);
    } else {
      expect(got.isFile(), path).toBe(true);
      expect(await readFile(join(assembled, path), "utf8"), path).toBe(await readFile(join(reference, path), "utf8"));
    }
  }
}

/** A locked model and its raw (assembled) output, built together. */
const modelAndRaw = (lock: string, name: string) =>
  `${libPrelude} let m = (nmr.fromLock ${lock}).${name}; in [ m m.raw ]`;

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
});
