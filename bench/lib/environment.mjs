/**
 * What the bench runs with: sizes from BENCH_* variables, the peers found on this machine
 * (with versions, for the environment line) and the reason a missing one is skipped.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { rssMethod } from "./measure.mjs";

function positiveNumber(name, fallback) {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got '${text}'`);
  return value;
}

export const ALL_CASES = ["large", "limited", "small", "hash", "overhead", "xet", "e2e", "https", "modules"];

export function readConfig() {
  const cases = (process.env.BENCH_CASES ?? ALL_CASES.join(","))
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  const unknown = cases.filter((name) => !ALL_CASES.includes(name));
  if (unknown.length)
    throw new Error(`BENCH_CASES: unknown case(s) ${unknown.join(", ")}; known: ${ALL_CASES.join(", ")}`);
  return {
    cases,
    runs: Math.round(positiveNumber("BENCH_RUNS", 3)),
    overheadRuns: Math.round(positiveNumber("BENCH_OVERHEAD_RUNS", 5)),
    wideRepoFiles: Math.round(positiveNumber("BENCH_WIDE_FILES", 5000)),
    largeMiB: positiveNumber("BENCH_LARGE_MIB", 1024),
    limitedMiB: positiveNumber("BENCH_LIMITED_MIB", 256),
    rateMiB: positiveNumber("BENCH_RATE_MIB", 25),
    smallFiles: Math.round(positiveNumber("BENCH_SMALL_FILES", 500)),
    smallKiB: positiveNumber("BENCH_SMALL_KIB", 8),
    mediumFiles: Math.round(positiveNumber("BENCH_MEDIUM_FILES", 4)),
    mediumMiB: positiveNumber("BENCH_MEDIUM_MIB", 4),
    e2eLargeMiB: positiveNumber("BENCH_E2E_LARGE_MIB", positiveNumber("BENCH_LARGE_MIB", 1024)),
    xetLargeMiB: positiveNumber("BENCH_XET_LARGE_MIB", 1024),
    xetModelMiB: positiveNumber("BENCH_XET_MODEL_MIB", 256),
    xetWeightsMiB: positiveNumber("BENCH_XET_WEIGHTS_MIB", 256),
    xetLimitedMiB: positiveNumber("BENCH_XET_LIMITED_MIB", 256),
    xetDelayMs: positiveNumber("BENCH_XET_DELAY_MS", 50),
    tmp: process.env.BENCH_TMPDIR || tmpdir(),
    baselines: readBaselines(process.env.BENCH_BASELINE),
  };
}

/**
 * BENCH_BASELINE: other checkouts of nix-model-repo (older commits, each built with `npm run
 * build`), separated by ":" like PATH, whose bundles run beside ours in every case that fetches
 * or hashes, interleaved with ours, so a before/after comparison comes from one run. A list of
 * { root, cli, label, id } (id: a name for its scratch files), empty without the variable.
 */
function readBaselines(value) {
  return (value ?? "")
    .split(":")
    .filter(Boolean)
    .map((root, index) => ({ ...readBaseline(root), id: `base${index + 1}` }));
}

function readBaseline(root) {
  const cli = join(root, "dist", "nix-model-repo.mjs");
  if (!existsSync(cli))
    throw new Error(`BENCH_BASELINE=${root}: ${cli} is missing (run \`npm ci && npm run build\` in that checkout)`);
  const commit = spawnSync("git", ["-C", root, "rev-parse", "--short", "HEAD"], { encoding: "utf8" });
  const label = commit.status === 0 ? commit.stdout.trim() : root;
  return { root, cli, label };
}

/** The first line a `--version`-like command prints (stdout or stderr), or undefined if absent. */
function versionLine(command, args) {
  const result = spawnSync(command, args, { encoding: "utf8" });
  if (result.error) return undefined;
  return `${result.stdout}\n${result.stderr}`
    .split("\n")
    .map((line) => line.trim())
    .find(Boolean);
}

function huggingFaceHubVersion() {
  // The package's "exports" hide its package.json: resolve the entry, walk up to the manifest.
  try {
    let dir = dirname(createRequire(import.meta.url).resolve("@huggingface/hub"));
    for (; dir !== dirname(dir); dir = dirname(dir)) {
      const manifest = join(dir, "package.json");
      if (!existsSync(manifest)) continue;
      const { name, version } = JSON.parse(readFileSync(manifest, "utf8"));
      if (name === "@huggingface/hub") return version;
    }
  } catch {
    // not installed
  }
  return undefined;
}

const HF_PYTHON_CLIENT = fileURLToPath(new URL("../clients/huggingface-hub.py", import.meta.url));

/**
 * huggingface_hub (Python) from a checkout: HUGGINGFACE_HUB_SRC names the checkout or its
 * src/ (the folder holding huggingface_hub/), run by HUGGINGFACE_HUB_PYTHON (default
 * /usr/bin/python3, whose Debian packages provide the library's dependencies).
 * { version, python, pythonPath } or { skip }.
 */
function huggingFaceHubPython() {
  const source = process.env.HUGGINGFACE_HUB_SRC;
  const install =
    "set HUGGINGFACE_HUB_SRC to a huggingface_hub checkout, with its dependencies importable by HUGGINGFACE_HUB_PYTHON";
  if (!source) return { skip: `HUGGINGFACE_HUB_SRC is not set (${install})` };
  const pythonPath = [source, join(source, "src")].find((dir) => existsSync(join(dir, "huggingface_hub")));
  if (!pythonPath) return { skip: `HUGGINGFACE_HUB_SRC=${source} holds no huggingface_hub/ nor src/huggingface_hub/` };
  const python = process.env.HUGGINGFACE_HUB_PYTHON || "/usr/bin/python3";
  const result = spawnSync(python, [HF_PYTHON_CLIENT, "version"], {
    encoding: "utf8",
    env: { ...process.env, PYTHONPATH: pythonPath },
  });
  if (result.error || result.status !== 0) {
    const why = result.error?.message ?? result.stderr.trim().split("\n").at(-1);
    return { skip: `cannot import huggingface_hub with ${python}: ${why} (${install})` };
  }
  return { version: `huggingface_hub ${result.stdout.trim()} (Python)`, python, pythonPath, client: HF_PYTHON_CLIENT };
}

/** { name → { version, skip } } for every peer; skip says why and how to install it. */
export function detectPeers() {
  const found = (version, install) => (version ? { version } : { skip: `not installed (${install})` });
  const curl = versionLine("curl", ["--version"]);
  const aria2 = versionLine("aria2c", ["--version"]);
  const nixHash = versionLine("nix-hash", ["--version"]);
  const openssl = versionLine("openssl", ["version"]);
  const hub = huggingFaceHubVersion();
  return {
    curl: found(curl?.split(" ").slice(0, 2).join(" "), "apt-get install curl"),
    aria2c: found(aria2?.replace(/^aria2 version /, "aria2c "), "apt-get install aria2"),
    nginx: found(versionLine("nginx", ["-v"])?.replace(/^nginx version: /, ""), "apt-get install nginx"),
    nixHash: found(nixHash, "apt-get install nix-bin"),
    openssl: found(openssl?.split(" ").slice(0, 2).join(" "), "apt-get install openssl"),
    huggingFaceHub: found(hub && `@huggingface/hub ${hub}`, "npm ci: it is a devDependency"),
    huggingFaceHubPython: huggingFaceHubPython(),
    nixBuild: found(versionLine("nix-build", ["--version"]), "apt-get install nix-bin"),
  };
}

export function environmentLines(peers, config) {
  const cpuList = cpus();
  const versions = Object.values(peers)
    .map((peer) => peer.version)
    .filter(Boolean);
  return [
    `machine: ${cpuList.length} CPU × ${cpuList[0]?.model ?? "?"}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${process.platform} ${process.arch}; temp dir ${config.tmp}`,
    `node ${process.version}; peers: ${versions.join(", ") || "none"}`,
    `load average at start: ${loadavg()
      .map((value) => value.toFixed(2))
      .join(" ")} (other work on the machine makes the figures noisy)`,
    `median of ${config.runs} runs (overhead: ${config.overheadRuns}), interleaved; peak RSS via ${rssMethod}`,
    ...config.baselines.map(
      (baseline) => `baseline: the bundle of ${baseline.label} (${baseline.root}), rows "… at ${baseline.label}"`,
    ),
  ];
}
