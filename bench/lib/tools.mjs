/**
 * The command lines of every tool the cases compare, each writing into a fresh directory
 * per run and removing it afterwards (outside the timed part). Each tool is configured
 * the way its users would run it for this job; none gets a head start (no warm cache:
 * every run starts from an empty output).
 */
import { spawnSync } from "node:child_process";
import { mkdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { oursCommand } from "./ours-command.mjs";

const HF_HUB_CLIENT = fileURLToPath(new URL("../clients/hf-hub.mjs", import.meta.url));

/** An environment without the user's Hub settings or token: every tool runs anonymous. */
export function cleanEnv(home) {
  const env = { ...process.env, HF_HOME: home, HOME: home };
  for (const name of [
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "HF_ENDPOINT",
    "HF_HUB_CACHE",
    "http_proxy",
    "https_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
  ])
    delete env[name];
  return env;
}

export function resolveUrl(hubUrl, repoId, path) {
  return `${hubUrl}/${repoId}/resolve/main/${path.split("/").map(encodeURIComponent).join("/")}`;
}

async function sizeOf(path) {
  return (await stat(path).catch(() => undefined))?.size;
}

/** The blobs folder of `repoId` in a Hub cache. */
function hubCacheBlobs(cacheDir, repoId) {
  return join(cacheDir, `models--${repoId.split("/").join("--")}`, "blobs");
}

/** Why a blobs folder does not hold every expected file (by etag) at its size; undefined if it does. */
async function wrongBlob(blobs, expectedFiles) {
  for (const file of expectedFiles) {
    const size = await sizeOf(join(blobs, file.etag));
    if (size !== file.size) return `blobs/${file.etag} (${file.path}) has ${size} bytes, expected ${file.size}`;
  }
  return undefined;
}

/**
 * The tools `makeTool(baseline)` gives for the BENCH_BASELINE checkouts: one row beside ours
 * for each, whose ratio is baseline / ours (> 1: this checkout is faster). None without one.
 */
export function baselineRows(config, makeTool) {
  return config.baselines.map(makeTool);
}

/** The fetch spec of Hub repo `repoId` at `hubUrl`, with `blocks` (network, select) beside its source. */
function hubSpecJson(hubUrl, repoId, blocks) {
  return JSON.stringify({
    specVersion: 1,
    name: "bench",
    source: { type: "huggingface", repo: repoId, endpoint: hubUrl },
    ...blocks,
  });
}

/**
 * nix-model-repo fetch --spec … --out … (the FOD builder itself). `baseline` runs that
 * checkout's bundle instead (a row of its own, not "ours"). `concurrency` makes it a
 * variant (not "ours": its ratio is against the default); `xet` sets network.xet, and a
 * variant when it is "off".
 */
export function oursFetch({ cli, hubUrl, repoId, scratch, env, expectedFiles, concurrency, xet, keepRun, baseline }) {
  const variant = `${baseline ? `${baseline.id}-` : ""}${concurrency ? `c${concurrency}-` : ""}${xet ? `xet-${xet}-` : ""}`;
  const spec = join(scratch, `spec-${variant}${repoId.replace("/", "-")}.json`);
  const out = (run) => join(scratch, `ours-${variant}${run}`);
  const label = xet === "required" ? ", through Xet" : xet === "off" ? ", through the bridge (xet off)" : "";
  const name = concurrency ? `nix-model-repo fetch, concurrency ${concurrency}` : `nix-model-repo fetch${label}`;
  return {
    name: baseline ? `${name} at ${baseline.label}` : name,
    ours: !baseline && !concurrency && xet !== "off",
    async prepare(run) {
      const network = concurrency || xet ? { ...(concurrency && { concurrency }), ...(xet && { xet }) } : undefined;
      await writeFile(spec, hubSpecJson(hubUrl, repoId, network && { network }));
      return { ...oursCommand(baseline?.cli ?? cli, ["fetch", "--spec", spec, "--out", out(run)]), env };
    },
    // The fetcher checks sizes and digests itself; make sure every file is there.
    verify: (_result, run) => wrongBlob(join(out(run), "blobs"), expectedFiles),
    // keepRun: that run's output stays (until the bench's temp dir goes) for a later case.
    cleanup: (run) => (run === keepRun ? undefined : rm(out(run), { recursive: true, force: true })),
    outputOf: out,
  };
}

/**
 * nix-model-repo fetch of one file as a lock's per-file derivation runs it: a spec with
 * `select` (output "file", pinned to `commit`), so $out is the file itself. `baseline` runs
 * that checkout's bundle instead, as in oursFetch.
 */
export function oursFetchLocked({ cli, hubUrl, repoId, commit, file, scratch, env, baseline }) {
  const variant = baseline ? `${baseline.id}-` : "";
  const spec = join(scratch, `spec-locked-${variant}${repoId.replace("/", "-")}.json`);
  const out = (run) => join(scratch, `ours-locked-${variant}${run}`);
  const name = "nix-model-repo fetch, one locked file (select)";
  return {
    name: baseline ? `${name} at ${baseline.label}` : name,
    ours: !baseline,
    async prepare(run) {
      const files = [{ path: file.path, size: file.size, sha256: file.sha256 }];
      await writeFile(spec, hubSpecJson(hubUrl, repoId, { select: { output: "file", resolved: { commit }, files } }));
      return { ...oursCommand(baseline?.cli ?? cli, ["fetch", "--spec", spec, "--out", out(run)]), env };
    },
    // The fetcher checks the sha256 itself; the size says the file is there.
    verify: async (_result, run) => ((await sizeOf(out(run))) === file.size ? undefined : "wrong size"),
    cleanup: (run) => rm(out(run), { force: true }),
  };
}

/** curl -L -o: one stream, following the Hub's redirect as `curl -L` users do. */
export function curlSingle({ url, scratch, env, expected }) {
  const out = (run) => join(scratch, `curl-${run}`);
  return {
    name: "curl -L (1 stream)",
    prepare: (run) => ({ command: "curl", args: ["-sS", "-f", "-L", "-o", out(run), url], env }),
    verify: async (_result, run) => ((await sizeOf(out(run))) === expected.size ? undefined : `wrong size`),
    cleanup: (run) => rm(out(run), { force: true }),
    note: "no checksum, no layout",
  };
}

/** aria2c -x8 -s8: the usual "fast parallel download" command. */
export function aria2cSplit({ url, scratch, env, expected, connections = 8, extraArgs = [] }) {
  const dir = (run) => join(scratch, `aria2c-${run}`);
  return {
    name: `aria2c -x${connections} -s${connections}`,
    prepare: (run) => ({
      command: "aria2c",
      args: [
        `-x${connections}`,
        `-s${connections}`,
        "--file-allocation=none",
        "--allow-overwrite=true",
        "--auto-file-renaming=false",
        "--console-log-level=error",
        "--summary-interval=0",
        "--download-result=hide",
        "-q",
        ...extraArgs,
        "-d",
        dir(run),
        "-o",
        "file",
        url,
      ],
      env,
    }),
    verify: async (_result, run) =>
      (await sizeOf(join(dir(run), "file"))) === expected.size ? undefined : `wrong size`,
    cleanup: (run) => rm(dir(run), { recursive: true, force: true }),
    note: "no checksum unless given --checksum, no layout",
  };
}

/** @huggingface/hub downloadFileToCacheDir (one file) or snapshotDownload (the repo). */
export function huggingFaceHub({ mode, hubUrl, repoId, path, scratch, env, expectedFiles }) {
  const cache = (run) => join(scratch, `hfhub-${run}`);
  return {
    name: mode === "file" ? "@huggingface/hub downloadFileToCacheDir" : "@huggingface/hub snapshotDownload",
    prepare: (run) => ({
      command: process.execPath,
      args:
        mode === "file"
          ? [HF_HUB_CLIENT, "file", hubUrl, repoId, path, cache(run)]
          : [HF_HUB_CLIENT, "snapshot", hubUrl, repoId, cache(run)],
      env,
    }),
    verify: (_result, run) => wrongBlob(hubCacheBlobs(cache(run), repoId), expectedFiles),
    cleanup: (run) => rm(cache(run), { recursive: true, force: true }),
    note: "no checksum (trusts the bytes)",
  };
}

/** curl -Z: many files in parallel from a config file of url/output pairs. */
export function curlParallel({ hubUrl, repoId, files, scratch, env, parallel = 8 }) {
  const dir = (run) => join(scratch, `curlz-${run}`);
  const config = (run) => join(scratch, `curlz-${run}.config`);
  return {
    name: `curl -Z --parallel-max ${parallel}`,
    async prepare(run) {
      const lines = files.flatMap((file) => [
        `url = "${resolveUrl(hubUrl, repoId, file.path)}"`,
        `output = "${join(dir(run), file.path)}"`,
      ]);
      await writeFile(config(run), `${lines.join("\n")}\n`);
      return {
        command: "curl",
        args: ["-sS", "-f", "-L", "-Z", "--parallel-max", String(parallel), "--create-dirs", "-K", config(run)],
        env,
      };
    },
    async verify(_result, run) {
      for (const file of files)
        if ((await sizeOf(join(dir(run), file.path))) !== file.size) return `${file.path}: wrong size`;
      return undefined;
    },
    cleanup: (run) => Promise.all([rm(dir(run), { recursive: true, force: true }), rm(config(run), { force: true })]),
    note: "given the file list for free (no API calls), no checksum",
  };
}

/** aria2c -i: many files, -j parallel downloads, from an input file. */
export function aria2cParallel({ hubUrl, repoId, files, scratch, env, parallel = 8 }) {
  const dir = (run) => join(scratch, `aria2i-${run}`);
  const input = (run) => join(scratch, `aria2i-${run}.input`);
  return {
    name: `aria2c -j${parallel} -i`,
    async prepare(run) {
      const lines = files.flatMap((file) => [resolveUrl(hubUrl, repoId, file.path), `  out=${file.path}`]);
      await mkdir(dir(run), { recursive: true });
      await writeFile(input(run), `${lines.join("\n")}\n`);
      return {
        command: "aria2c",
        args: [
          `-j${parallel}`,
          "--file-allocation=none",
          "--allow-overwrite=true",
          "--auto-file-renaming=false",
          "--console-log-level=error",
          "--summary-interval=0",
          "--download-result=hide",
          "-q",
          "-d",
          dir(run),
          "-i",
          input(run),
        ],
        env,
      };
    },
    async verify(_result, run) {
      for (const file of files)
        if ((await sizeOf(join(dir(run), file.path))) !== file.size) return `${file.path}: wrong size`;
      return undefined;
    },
    cleanup: (run) => Promise.all([rm(dir(run), { recursive: true, force: true }), rm(input(run), { force: true })]),
    note: "given the file list for free (no API calls), no checksum",
  };
}

/** huggingface_hub (Python) snapshot_download(max_workers=8) into a Hub cache: what most users run. */
export function huggingFaceHubPython({ peer, hubUrl, repoId, scratch, env, expectedFiles, workers = 8 }) {
  const cache = (run) => join(scratch, `hfpy-${run}`);
  return {
    name: `huggingface_hub snapshot_download(max_workers=${workers})`,
    skip: peer.skip,
    prepare: (run) => ({
      command: peer.python,
      args: [peer.client, "snapshot", repoId, cache(run), String(workers)],
      env: {
        ...env,
        PYTHONPATH: peer.pythonPath,
        PYTHONDONTWRITEBYTECODE: "1",
        HF_ENDPOINT: hubUrl,
        HF_HUB_DISABLE_TELEMETRY: "1",
        HF_HUB_DISABLE_PROGRESS_BARS: "1",
      },
    }),
    verify: (_result, run) => wrongBlob(hubCacheBlobs(cache(run), repoId), expectedFiles),
    cleanup: (run) => rm(cache(run), { recursive: true, force: true }),
    note: "a Hub cache, not a store path; no checksum",
  };
}

/**
 * nix-build of an expression file whose outputs are `outPaths`, each deleted from the
 * store before every run (outside the timed part), so every run really builds. Builds run
 * as Nix runs them here: as the nixbld users, no substituters, up to 8 at once.
 */
export function nixBuild({ name, expressionFile, outPaths, env, ours = false, note }) {
  return {
    name,
    ours,
    note,
    async prepare() {
      await deleteStorePaths(outPaths);
      return {
        command: "nix-build",
        args: ["--no-out-link", "--option", "substituters", "", "--max-jobs", "8", "--quiet", expressionFile],
        env,
      };
    },
    async verify(result) {
      const built = result.stdout.trim().split("\n").filter(Boolean);
      const missing = outPaths.filter((path) => !built.includes(path));
      return missing.length ? `${missing.length} of ${outPaths.length} outputs not built (${missing[0]})` : undefined;
    },
    cleanup: () => deleteStorePaths(outPaths),
  };
}

/** nix-store --delete of the paths that exist (nothing roots them: nix-build ran with --no-out-link). */
export async function deleteStorePaths(paths) {
  const present = [];
  for (const path of paths) if (await stat(path).catch(() => undefined)) present.push(path);
  for (let index = 0; index < present.length; index += 200) {
    const result = spawnSync("nix-store", ["--delete", ...present.slice(index, index + 200)], { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`nix-store --delete failed: ${result.stderr.trim()}`);
  }
}
