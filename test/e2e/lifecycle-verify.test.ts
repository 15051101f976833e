/**
 * `verify` against a Hugging Face Hub (the project's own server on loopback, behind a
 * proxy that counts the bytes it sends): each state with its exit status — unchanged,
 * moved (main moved on), gone (the repo deleted), changed in place (the locked commit
 * lists other bytes) and, with --deep, damaged (a byte changed in the store) — and no
 * weights downloaded on the way.
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, open, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lockedBlobPath, parseLockFile } from "../../src/lockfile/index.js";
import { type HubServer, startHubServer } from "../../src/serve/index.js";
import { runCli } from "../helpers/cli.js";
import { type CountingProxy, startCountingProxy } from "../helpers/counting-proxy.js";
import { type WrittenHubRepo, writeHubRepo } from "../helpers/hub-fixture.js";
import { libPrelude, nixAvailable } from "../helpers/nix.js";
import { type PrivateStore, privateStore } from "../helpers/private-store.js";
import { safetensors } from "../integration/fixtures.js";

const MiB = 1024 * 1024;

const model = (name: string) => ({
  "config.json": JSON.stringify({ model_type: name, run: randomBytes(6).toString("hex") }),
  "model.safetensors": safetensors(randomBytes(MiB + 99)),
});

describe.skipIf(!nixAvailable)("verify against a Hugging Face Hub", () => {
  let store: PrivateStore;
  let hubRoot: string;
  let work: string;
  let lock: string;
  let hub: HubServer;
  let proxy: CountingProxy;
  const repos: Record<string, WrittenHubRepo> = {};
  /** What a repo's tree listing says instead of the truth, by repo id (for the commit given). */
  const treeOverrides = new Map<string, (commit: string) => unknown[] | undefined>();

  const env = () => ({ ...store.env, HF_ENDPOINT: proxy.url, HF_TOKEN: "" });
  const verify = async (...args: string[]) => {
    proxy.reset();
    hub.clearRequests();
    const result = await runCli(["verify", ...args, "--lock", lock, "--json"], { env: env(), cwd: work });
    const report = result.stdout === "" ? undefined : JSON.parse(result.stdout);
    return { ...result, report, bytes: proxy.bytesToClient(), routes: hub.requests.map((request) => request.route) };
  };

  async function startHub(port?: number): Promise<void> {
    hub = await startHubServer({
      root: hubRoot,
      ...(port === undefined ? {} : { port }),
      treeOverride: ({ repo, commit }) => treeOverrides.get(repo.id)?.(commit),
    });
  }

  /** The Hub reads its repos when it starts: after a change upstream it starts again, on the same port. */
  async function restartHub(): Promise<void> {
    const port = hub.port;
    await hub.close();
    await startHub(port);
  }

  beforeAll(async () => {
    store = await privateStore();
    hubRoot = await mkdtemp(join(tmpdir(), "nmr-verify-hub-"));
    work = await mkdtemp(join(tmpdir(), "nmr-verify-work-"));
    lock = join(work, "models.lock.json");
    for (const name of ["steady", "moving", "doomed", "tampered", "fixed", "flood"]) {
      repos[name] = await writeHubRepo(hubRoot, { repoId: `acme/${name}`, files: model(name) });
    }
    await startHub();
    proxy = await startCountingProxy(hub.port);
    for (const name of ["steady", "moving", "doomed", "tampered", "flood"]) {
      const added = await runCli(["add", name, `hf:acme/${name}`, "--lock", lock, "--large-from", "1M"], {
        env: env(),
      });
      expect(added.code, added.stderr).toBe(0);
    }
    // A target pinned to a commit: nothing can move it.
    const fixed = await runCli(
      ["add", "fixed", `hf:acme/fixed@${repos["fixed"]!.commit}`, "--lock", lock, "--large-from", "1M"],
      { env: env() },
    );
    expect(fixed.code, fixed.stderr).toBe(0);
  }, 300_000);

  afterAll(async () => {
    await hub?.close();
    await proxy?.close();
    await store?.close();
    await rm(hubRoot, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  /** A repo's files as the Hub's tree lists them. */
  const treeOf = (repo: WrittenHubRepo) =>
    repo.files.map((file) => ({
      type: "file",
      path: file.path,
      oid: file.gitOid,
      size: file.size,
      ...(file.lfs ? { lfs: { oid: file.sha256, size: file.size, pointerSize: 134 } } : {}),
    }));

  /** Nothing a verify does downloads a file: no resolve or CDN request, and far fewer bytes than one weight file. */
  function expectNoDownloads(result: { bytes: number; routes: string[] }): void {
    expect(result.routes.filter((route) => route === "resolve" || route === "cdn")).toEqual([]);
    expect(result.routes).toContain("tree");
    expect(result.bytes).toBeLessThan(MiB / 8);
  }

  it("says unchanged, exit 0, for models whose source did not change, comparing git blob ids and LFS oids", async () => {
    const result = await verify("steady", "fixed");
    expect(result.code, result.stderr).toBe(0);
    expect(result.report.models).toMatchObject([
      {
        name: "steady",
        state: "unchanged",
        revision: { recorded: repos["steady"]!.commit, upstream: repos["steady"]!.commit },
        comparedBy: { sha256: 1, gitOid: 1 },
        unverified: [],
      },
      { name: "fixed", state: "unchanged" },
    ]);
    expectNoDownloads(result);
    const text = await runCli(["verify", "steady", "--lock", lock], { env: env() });
    expect(text.stdout).toContain(`steady: unchanged`);
    expect(text.stdout).toContain(
      `still ${repos["steady"]!.commit.slice(0, 12)}; files compared: 1 by gitOid, 1 by sha256`,
    );
    expect(text.stderr).toContain("steady: asking hf:acme/steady for its listing");
  });

  it("says moved, exit 10, when main points at another commit, and downloads no weights", async () => {
    const before = repos["moving"]!;
    const after = await writeHubRepo(hubRoot, {
      repoId: "acme/moving",
      files: {
        ...model("moving"),
        "model.safetensors": before.files.find((f) => f.path === "model.safetensors")!.content,
      },
    });
    await restartHub();
    proxy.retarget(hub.port);
    const result = await verify("moving");
    expect(result.code, result.stderr).toBe(10);
    expect(result.report.models[0]).toMatchObject({
      state: "moved",
      revision: { recorded: before.commit, upstream: after.commit },
      moved: { changed: 1, added: 0, removed: 0 },
      inPlace: [],
    });
    expectNoDownloads(result);
  });

  it("says changed-in-place, exit 13, when the locked commit lists other bytes", async () => {
    const locked = repos["tampered"]!;
    treeOverrides.set("acme/tampered", (commit) =>
      commit !== locked.commit
        ? undefined
        : treeOf(locked).map((entry) =>
            entry.path === "config.json" ? { ...entry, oid: "1".repeat(40), size: entry.size + 3 } : entry,
          ),
    );
    const result = await verify("tampered");
    expect(result.code, result.stderr).toBe(13);
    const config = locked.files.find((file) => file.path === "config.json")!;
    expect(result.report.models[0]).toMatchObject({
      state: "changed-in-place",
      revision: { recorded: locked.commit, upstream: locked.commit },
      inPlace: [
        {
          path: "config.json",
          before: { size: config.size, sha256: config.sha256 },
          after: { size: config.size + 3, sha256: null },
        },
      ],
    });
    expectNoDownloads(result);
    const text = await runCli(["verify", "tampered", "--lock", lock], { env: env() });
    expect(text.stdout).toContain("tampered: CHANGED IN PLACE");
    expect(text.stdout).toMatch(/config\.json: \d+ B, sha256 [0-9a-f]{12}… -> \d+ B/);
  });

  it("says gone, exit 11, when the repository is deleted", async () => {
    await rm(repos["doomed"]!.folder, { recursive: true, force: true });
    await restartHub();
    proxy.retarget(hub.port);
    const result = await verify("doomed");
    expect(result.code, result.stderr).toBe(11);
    expect(result.report.models[0]).toMatchObject({ state: "gone", reason: expect.stringContaining("acme/doomed") });
  });

  it("reports every model and exits with the most serious finding", async () => {
    const result = await verify("doomed", "fixed", "moving", "steady", "tampered");
    expect(result.code, result.stderr).toBe(13);
    const states = Object.fromEntries(
      result.report.models.map((entry: { name: string; state: string }) => [entry.name, entry.state]),
    );
    expect(states).toEqual({
      doomed: "gone",
      fixed: "unchanged",
      moving: "moved",
      steady: "unchanged",
      tampered: "changed-in-place",
    });
  });

  it("counts a flood of files added to the locked commit, reporting a bounded few", async () => {
    const locked = repos["flood"]!;
    const junk = 30_000;
    treeOverrides.set("acme/flood", (commit) =>
      commit !== locked.commit
        ? undefined
        : [
            ...treeOf(locked),
            ...Array.from({ length: junk }, (_, index) => ({
              type: "file",
              path: `junk/${String(index).padStart(6, "0")}.bin`,
              oid: "2".repeat(40),
              size: 1,
            })),
          ],
    );
    const result = await verify("flood");
    expect(result.code, result.stderr).toBe(13);
    expect(result.report.models[0].inPlaceCount).toBe(junk);
    expect(result.report.models[0].inPlace).toHaveLength(100);
    expect(result.routes.filter((route) => route === "resolve" || route === "cdn")).toEqual([]);
    const text = await runCli(["verify", "flood", "--lock", lock], { env: env() });
    expect(text.stdout).toContain(`… and ${junk - 100} more`);
    expect(text.stdout.length).toBeLessThan(20_000);
  });

  it("with --deep hashes the local copies and says damaged, exit 12, when a byte changed in the store", async () => {
    const intact = await verify("steady", "--deep");
    expect(intact.code, intact.stderr).toBe(0);
    expect(intact.report.models[0].local).toEqual({ checked: 2, bytes: expect.any(Number), damaged: [], absent: 0 });

    const entry = parseLockFile(await readFile(lock), lock).models["steady"]!;
    const weights = entry.files.find((file) => file.large)!;
    const blob = lockedBlobPath(weights, store.storeDir);
    await chmod(blob, 0o644);
    const handle = await open(blob, "r+");
    try {
      const first = Buffer.alloc(1);
      await handle.read(first, 0, 1, 100);
      await handle.write(Buffer.from([first[0]! ^ 0xff]), 0, 1, 100);
    } finally {
      await handle.close();
    }
    const damaged = await verify("steady", "--deep");
    expect(damaged.code, damaged.stderr).toBe(12);
    expect(damaged.report.models[0]).toMatchObject({
      state: "damaged",
      local: { checked: 2, damaged: [{ path: weights.path, file: blob, why: expect.stringContaining("has sha256") }] },
    });
  });

  it("verifies a store path by its meta file (a single-hash fetchModel output)", async () => {
    const prefetched = await runCli(["prefetch", "hf:acme/fixed", "--name", "fixed", "--json"], { env: env() });
    expect(prefetched.code, prefetched.stderr).toBe(0);
    const { hash } = JSON.parse(prefetched.stdout);
    const result = join(work, "result-fixed");
    await store.build(
      `${libPrelude} nmr.fetchModel { name = "fixed"; source.huggingface = { repo = "acme/fixed"; endpoint = "${proxy.url}"; }; hash = "${hash}"; }`,
      result,
    );
    const verified = await verify(result, "--deep");
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.report.models[0]).toMatchObject({
      from: "store",
      target: "hf:acme/fixed@main",
      state: "unchanged",
      comparedBy: { sha256: 1, gitOid: 1 },
      local: { checked: 2, damaged: [] },
    });
    expectNoDownloads(verified);
  });
});
