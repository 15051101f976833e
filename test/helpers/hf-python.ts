/**
 * Runs the real huggingface_hub (Python) against a cache directory with HF_HUB_OFFLINE=1,
 * so tests can check that what hf-offline.ts decides is what the library decides. Optional:
 * it needs HUGGINGFACE_HUB_SRC pointing at a directory that contains `huggingface_hub/`
 * (a source checkout's `src/`) and a Python with the library's dependencies (HF_PYTHON,
 * default /usr/bin/python3). Tests use `realHubSkipReason` with `describe.skipIf`.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { HFCacheInfo, RepoType } from "./hf-offline.js";

const source = process.env["HUGGINGFACE_HUB_SRC"];
const python = process.env["HF_PYTHON"] ?? "/usr/bin/python3";

/** Why the real library cannot run here, or undefined when it can. */
export const realHubSkipReason: string | undefined =
  source === undefined || source === ""
    ? "HUGGINGFACE_HUB_SRC is not set"
    : !existsSync(join(source, "huggingface_hub"))
      ? `HUGGINGFACE_HUB_SRC=${source} has no huggingface_hub/ directory`
      : !existsSync(python)
        ? `${python} not found (set HF_PYTHON)`
        : undefined;

interface Revisioned {
  readonly repoId: string;
  readonly revision?: string;
  readonly repoType?: RepoType;
}
/** One library call; `cacheDir` overrides runRealHub's, so one process can serve many caches. */
export type HubCall = { readonly cacheDir?: string } & (
  | ({ readonly op: "try_to_load_from_cache"; readonly filename: string } & Revisioned)
  | ({ readonly op: "hf_hub_download"; readonly filename: string } & Revisioned)
  | ({ readonly op: "snapshot_download"; readonly localFilesOnly?: boolean } & Revisioned)
  | { readonly op: "scan_cache_dir" }
);

/** try_to_load_from_cache's `_CACHED_NO_EXIST`, which has no JSON form of its own. */
export interface CachedNoExistValue {
  readonly cachedNoExist: true;
}
export type HubValue = string | null | CachedNoExistValue | HFCacheInfo;
/** A returned value, or the Python exception's class name and message. */
export type HubOutcome =
  | { readonly ok: true; readonly value: HubValue }
  | { readonly ok: false; readonly error: string; readonly message: string };

const RESULT_MARKER = "@@hf-python-result@@";

// Reads {cacheDir, calls} on stdin, prints one marked JSON line of outcomes. The scan result
// is flattened to hf-offline.ts's HFCacheInfo shape, every list sorted so runs compare.
// biome-ignore lint/complexity/noUselessStringRaw: Python source; raw, so an escape added later stays Python's
const SCRIPT = String.raw`
import json, sys
from huggingface_hub import hf_hub_download, scan_cache_dir, snapshot_download, try_to_load_from_cache
from huggingface_hub.file_download import _CACHED_NO_EXIST

request = json.load(sys.stdin)

def scan(cache_dir):
    info = scan_cache_dir(cache_dir)
    repos = []
    for repo in sorted(info.repos, key=lambda r: str(r.repo_path)):
        revisions = []
        for rev in sorted(repo.revisions, key=lambda r: r.commit_hash):
            files = [
                {"fileName": f.file_name, "filePath": str(f.file_path), "blobPath": str(f.blob_path), "sizeOnDisk": f.size_on_disk}
                for f in sorted(rev.files, key=lambda f: str(f.file_path))
            ]
            revisions.append({"commitHash": rev.commit_hash, "snapshotPath": str(rev.snapshot_path), "refs": sorted(rev.refs),
                              "files": files, "sizeOnDisk": rev.size_on_disk})
        repos.append({"repoId": repo.repo_id, "repoType": repo.repo_type, "repoPath": str(repo.repo_path),
                      "nbFiles": repo.nb_files, "sizeOnDisk": repo.size_on_disk, "revisions": revisions})
    return {"repos": repos, "warnings": sorted(str(w) for w in info.warnings),
            "incompleteFiles": sorted(str(f.file_path) for f in info.incomplete_files)}

outcomes = []
for call in request["calls"]:
    cache_dir = call.get("cacheDir") or request["cacheDir"]
    kwargs = {}
    if call.get("revision") is not None:
        kwargs["revision"] = call["revision"]
    if call.get("repoType") is not None:
        kwargs["repo_type"] = call["repoType"]
    if call.get("localFilesOnly"):
        kwargs["local_files_only"] = True
    try:
        op = call["op"]
        if op == "try_to_load_from_cache":
            value = try_to_load_from_cache(call["repoId"], call["filename"], cache_dir=cache_dir, **kwargs)
            if value is _CACHED_NO_EXIST:
                value = {"cachedNoExist": True}
        elif op == "hf_hub_download":
            value = hf_hub_download(call["repoId"], call["filename"], cache_dir=cache_dir, **kwargs)
        elif op == "snapshot_download":
            value = snapshot_download(call["repoId"], cache_dir=cache_dir, **kwargs)
        elif op == "scan_cache_dir":
            value = scan(cache_dir)
        else:
            raise ValueError("unknown op " + op)
        outcomes.append({"ok": True, "value": value})
    except Exception as error:
        outcomes.append({"ok": False, "error": type(error).__name__, "message": str(error)})

print("${RESULT_MARKER}" + json.dumps(outcomes))
`;

/**
 * Runs the calls in one Python process (importing the library takes most of a second) with
 * HF_HUB_OFFLINE=1 and a throwaway HF_HOME, so nothing reaches the network or the user's
 * own cache and token. Resolves to one outcome per call, in order.
 */
export async function runRealHub(cacheDir: string, calls: readonly HubCall[]): Promise<HubOutcome[]> {
  if (realHubSkipReason !== undefined) throw new Error(`real huggingface_hub unavailable: ${realHubSkipReason}`);
  const home = mkdtempSync(join(tmpdir(), "hf-home-"));
  try {
    const { status, stdout, stderr } = await new Promise<{ status: number | null; stdout: string; stderr: string }>(
      (resolve, reject) => {
        const child = spawn(python, ["-c", SCRIPT], {
          env: {
            PATH: process.env["PATH"] ?? "/usr/bin:/bin",
            PYTHONPATH: source,
            PYTHONUTF8: "1",
            PYTHONDONTWRITEBYTECODE: "1",
            HF_HOME: home,
            HF_HUB_OFFLINE: "1",
            HF_HUB_DISABLE_TELEMETRY: "1",
            HF_HUB_DISABLE_PROGRESS_BARS: "1",
          },
          stdio: ["pipe", "pipe", "pipe"],
        });
        let out = "";
        let err = "";
        child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
        child.on("error", reject);
        child.on("close", (code) => resolve({ status: code, stdout: out, stderr: err }));
        child.stdin.end(JSON.stringify({ cacheDir, calls }));
      },
    );
    const line = stdout.split("\n").find((candidate) => candidate.startsWith(RESULT_MARKER));
    if (status !== 0 || line === undefined) {
      throw new Error(`real huggingface_hub failed (exit ${status}):\n${stderr}${stdout}`);
    }
    return JSON.parse(line.slice(RESULT_MARKER.length)) as HubOutcome[];
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
