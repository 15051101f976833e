/**
 * The proof that the server is faithful: the real Python huggingface_hub downloads from it
 * (snapshot_download online), then finds every file offline (HF_HUB_OFFLINE=1), and gets the
 * Hub's errors for gated, missing and wrong things.
 *
 * Optional: runs when HUGGINGFACE_HUB_SRC points at a directory containing huggingface_hub/
 * (its dependencies must be importable by /usr/bin/python3, or by $HUGGINGFACE_HUB_PYTHON).
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHubServer, type HubServer } from "../../src/serve/index.js";
import { exampleRepoFiles } from "../../scripts/example-hub.js";
import { pseudoRandomBytes, writeHubRepo, type WrittenHubRepo } from "../helpers/hub-fixture.js";

const hhSource = process.env["HUGGINGFACE_HUB_SRC"];
const python = process.env["HUGGINGFACE_HUB_PYTHON"] ?? "/usr/bin/python3";
const available = hhSource !== undefined && existsSync(join(hhSource, "huggingface_hub"));

const ACCEPTED = "hf_acceptedTokenForTests0123456789";

/** Runs `steps` in one Python process; each step's result or exception comes back as JSON. */
// biome-ignore lint/complexity/noUselessStringRaw: Python source; raw, so an escape added later stays Python's
const DRIVER = String.raw`
import hashlib, inspect, json, os, sys

# Debian 12's python3-filelock (3.9) predates the mode= argument huggingface_hub >= 1.x passes
# (filelock >= 3.10). Accept and drop it: lock-file permissions do not matter to these tests.
import filelock
if "mode" not in inspect.signature(filelock.FileLock.__init__).parameters:
    class _FileLockAcceptingMode(filelock.FileLock):
        def __init__(self, *args, mode=None, **kwargs):
            super().__init__(*args, **kwargs)
    filelock.FileLock = _FileLockAcceptingMode

from huggingface_hub import snapshot_download, hf_hub_download, try_to_load_from_cache, scan_cache_dir

def describe_error(e):
    response = getattr(e, "response", None)
    return {"error": type(e).__name__, "status": getattr(response, "status_code", None), "message": str(e)[:600]}

def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()

def run(step):
    kind = step["kind"]
    args = step.get("args", {})
    if kind == "snapshot":
        folder = snapshot_download(**args)
        files = {}
        for root, _, names in os.walk(folder):
            for name in names:
                full = os.path.join(root, name)
                files[os.path.relpath(full, folder)] = sha256(full)
        return {"folder": folder, "files": files}
    if kind == "file":
        path = hf_hub_download(**args)
        return {"path": path, "sha256": sha256(path)}
    if kind == "try_cache":
        found = try_to_load_from_cache(**args)
        return {"found": found if isinstance(found, str) else repr(found)}
    if kind == "scan":
        info = scan_cache_dir(args["cache_dir"])
        return {"repos": sorted(r.repo_id for r in info.repos), "warnings": [str(w) for w in info.warnings]}
    raise ValueError(kind)

results = []
for step in json.loads(sys.argv[1]):
    try:
        results.append({"ok": run(step)})
    except Exception as e:
        results.append(describe_error(e))
print(json.dumps(results))
`;

interface StepResult {
  ok?: Record<string, unknown>;
  error?: string;
  status?: number | null;
  message?: string;
}

async function runPython(
  steps: ReadonlyArray<{ kind: string; args?: Record<string, unknown> }>,
  env: Record<string, string>,
): Promise<StepResult[]> {
  const { stdout } = await promisify(execFile)(python, ["-c", DRIVER, JSON.stringify(steps)], {
    env: {
      PATH: process.env["PATH"] ?? "/usr/bin:/bin",
      PYTHONPATH: hhSource!,
      HF_HUB_DISABLE_TELEMETRY: "1",
      HF_HUB_DISABLE_PROGRESS_BARS: "1",
      HF_HUB_DISABLE_XET: "1",
      ...env,
    },
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split("\n").pop()!) as StepResult[];
}

const sha256Of = (files: WrittenHubRepo["files"]) => Object.fromEntries(files.map((file) => [file.path, file.sha256]));

describe.skipIf(!available)("real huggingface_hub (set HUGGINGFACE_HUB_SRC to run)", () => {
  let root: string;
  let work: string;
  let hub: HubServer;
  let cdnHub: HubServer;
  let tiny: WrittenHubRepo;
  let gated: WrittenHubRepo;
  let big: WrittenHubRepo;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "serve-hh-root-"));
    work = await mkdtemp(join(tmpdir(), "serve-hh-work-"));
    tiny = await writeHubRepo(root, {
      repoId: "acme/tiny",
      files: exampleRepoFiles(),
      refs: { main: "commit" },
      extraCommits: [{ files: { "config.json": '{"old": true}\n' }, refs: ["refs/pr/1"] }],
    });
    gated = await writeHubRepo(root, {
      repoId: "acme/gated",
      files: { "config.json": "{}\n", "w.bin": pseudoRandomBytes(2048) },
      gated: true,
    });
    // Several LFS MiB through more than one read chunk, and enough files for pagination.
    big = await writeHubRepo(root, {
      repoId: "acme/big",
      repoType: "dataset",
      files: {
        "data/train.parquet": pseudoRandomBytes(3 * 1024 * 1024 + 17, 7),
        ...Object.fromEntries(
          Array.from({ length: 7 }, (_, index) => [`shards/part-${index}.txt`, `shard ${index}\n`]),
        ),
      },
    });
    hub = await startHubServer({ root, tokens: [ACCEPTED], pageSize: 3 });
    cdnHub = await startHubServer({ root, tokens: [ACCEPTED], cdn: { host: "127.0.0.2" } });
  });

  afterAll(async () => {
    await hub?.close();
    await cdnHub?.close();
    await rm(root, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  it("snapshot_download online, then every file offline, and scan_cache_dir is clean", async () => {
    const cache = join(work, "cache-online");
    const env = { HF_ENDPOINT: hub.url, HF_HOME: join(work, "home") };
    const [snapshot, pr, dataset] = await runPython(
      [
        { kind: "snapshot", args: { repo_id: "acme/tiny", cache_dir: cache } },
        { kind: "snapshot", args: { repo_id: "acme/tiny", cache_dir: cache, revision: "refs/pr/1" } },
        { kind: "snapshot", args: { repo_id: "acme/big", repo_type: "dataset", cache_dir: cache } },
      ],
      env,
    );
    expect(snapshot?.message).toBeUndefined();
    expect(snapshot?.ok?.["files"]).toEqual(sha256Of(tiny.files));
    expect(snapshot?.ok?.["folder"]).toBe(join(cache, "models--acme--tiny", "snapshots", tiny.commit));
    expect(pr?.ok?.["files"]).toEqual(sha256Of(tiny.extraCommits[0]!.files));
    expect(dataset?.ok?.["files"]).toEqual(sha256Of(big.files));

    // The layout the client wrote: refs (nested for the PR), blobs named by our etags.
    const folder = join(cache, "models--acme--tiny");
    expect(await readFile(join(folder, "refs", "main"), "utf8")).toBe(tiny.commit);
    expect(await readFile(join(folder, "refs", "refs", "pr", "1"), "utf8")).toBe(tiny.extraCommits[0]!.commit);
    const weights = tiny.files.find((file) => file.path === "model.safetensors")!;
    expect(await readlink(join(folder, "snapshots", tiny.commit, "model.safetensors"))).toBe(
      `../../blobs/${weights.sha256}`,
    );
    const nested = tiny.files.find((file) => file.path === "2_Dense/config.json")!;
    expect(await readlink(join(folder, "snapshots", tiny.commit, "2_Dense", "config.json"))).toBe(
      `../../../blobs/${nested.gitOid}`,
    );

    // The tree listing HH cached is the one we served, page after page (pageSize 3).
    const tree = JSON.parse(
      await readFile(join(cache, "datasets--acme--big", "trees", `${big.commit}.json`), "utf8"),
    ) as {
      files: Record<string, { size: number; blob_id: string; lfs_sha256?: string }>;
    };
    expect(Object.keys(tree.files).sort()).toEqual(big.files.map((file) => file.path).sort());
    const parquet = big.files.find((file) => file.path === "data/train.parquet")!;
    expect(tree.files["data/train.parquet"]).toMatchObject({ size: parquet.size, lfs_sha256: parquet.sha256 });

    const offlineSteps = [
      ...tiny.files.map((file) => ({
        kind: "file",
        args: { repo_id: "acme/tiny", filename: file.path, cache_dir: cache },
      })),
      {
        kind: "file",
        args: { repo_id: "acme/tiny", filename: "config.json", cache_dir: cache, revision: "refs/pr/1" },
      },
      { kind: "snapshot", args: { repo_id: "acme/tiny", cache_dir: cache } },
      { kind: "snapshot", args: { repo_id: "acme/big", repo_type: "dataset", cache_dir: cache } },
      { kind: "try_cache", args: { repo_id: "acme/tiny", filename: "model.safetensors", cache_dir: cache } },
      { kind: "scan", args: { cache_dir: cache } },
    ];
    const offline = await runPython(offlineSteps, { ...env, HF_HUB_OFFLINE: "1" });
    tiny.files.forEach((file, index) => {
      expect(offline[index], file.path).toMatchObject({ ok: { sha256: file.sha256 } });
    });
    const rest = offline.slice(tiny.files.length);
    expect(rest[0]?.ok?.["sha256"]).toBe(tiny.extraCommits[0]!.files[0]!.sha256);
    expect(rest[1]?.ok?.["files"]).toEqual(sha256Of(tiny.files));
    expect(rest[2]?.ok?.["files"]).toEqual(sha256Of(big.files));
    expect(rest[3]?.ok?.["found"]).toBe(join(folder, "snapshots", tiny.commit, "model.safetensors"));
    expect(rest[4]?.ok).toEqual({ repos: ["acme/big", "acme/tiny"], warnings: [] });
  });

  it("gated repo: GatedRepoError 401 without a token, 403 with a wrong one, downloads with an accepted one", async () => {
    const env = { HF_ENDPOINT: hub.url, HF_HOME: join(work, "home") };
    const args = (cache: string, token?: string) => ({
      repo_id: "acme/gated",
      cache_dir: join(work, cache),
      ...(token ? { token } : {}),
    });
    const [anonymous, wrong, accepted] = await runPython(
      [
        { kind: "snapshot", args: args("gated-anon") },
        { kind: "snapshot", args: args("gated-wrong", "hf_notAcceptedToken000000000000000") },
        { kind: "snapshot", args: args("gated-ok", ACCEPTED) },
      ],
      env,
    );
    expect(anonymous).toMatchObject({ error: "GatedRepoError", status: 401 });
    expect(anonymous?.message).toContain("Access to model acme/gated is restricted");
    expect(wrong).toMatchObject({ error: "GatedRepoError", status: 403 });
    expect(wrong?.message).toContain("not in the authorized list");
    expect(accepted?.ok?.["files"]).toEqual(sha256Of(gated.files));
  });

  it("maps missing repo, revision and file to the right exceptions and records .no_exist", async () => {
    const cache = join(work, "cache-errors");
    const [repo, revision, entry] = await runPython(
      [
        { kind: "file", args: { repo_id: "acme/nope", filename: "config.json", cache_dir: cache } },
        { kind: "file", args: { repo_id: "acme/tiny", filename: "config.json", cache_dir: cache, revision: "v9" } },
        { kind: "file", args: { repo_id: "acme/tiny", filename: "missing.txt", cache_dir: cache } },
      ],
      { HF_ENDPOINT: hub.url, HF_HOME: join(work, "home") },
    );
    expect(repo).toMatchObject({ error: "RepositoryNotFoundError", status: 401 });
    expect(revision).toMatchObject({ error: "RevisionNotFoundError", status: 404 });
    expect(entry).toMatchObject({ error: "RemoteEntryNotFoundError", status: 404 });
    expect(existsSync(join(cache, "models--acme--tiny", ".no_exist", tiny.commit, "missing.txt"))).toBe(true);
  });

  it("CDN mode: LFS files come from the CDN host, which never sees the token", async () => {
    cdnHub.clearRequests();
    const [result] = await runPython(
      [{ kind: "snapshot", args: { repo_id: "acme/gated", cache_dir: join(work, "cache-cdn"), token: ACCEPTED } }],
      { HF_ENDPOINT: cdnHub.url, HF_HOME: join(work, "home") },
    );
    expect(result?.ok?.["files"]).toEqual(sha256Of(gated.files));
    const cdnHost = new URL(cdnHub.cdnUrl!).host;
    const cdnRequests = cdnHub.requests.filter((request) => request.host === cdnHost);
    expect(cdnRequests.map((request) => `${request.method} ${request.route} ${request.status}`)).toEqual([
      "GET cdn 200",
    ]);
    expect(cdnRequests.every((request) => !request.hasAuthorization)).toBe(true);
    const hubRequests = cdnHub.requests.filter((request) => request.host !== cdnHost);
    expect(hubRequests.length).toBeGreaterThan(0);
    expect(hubRequests.every((request) => request.hasAuthorization)).toBe(true);
  });
});
