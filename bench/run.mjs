/**
 * `npm run bench`: throughput, CPU time, files per second, peak memory and fixed overhead of
 * nix-model-repo against its peers (curl, aria2c, @huggingface/hub, huggingface_hub,
 * nix-hash, Nix's builtin fetcher), all measured in this one run on this machine, printed
 * as tables of ratios. docs/bench.md explains the cases and how to read them.
 *
 * Sizes and repetitions come from BENCH_* variables (bench/lib/environment.mjs). Peers that
 * are not installed are skipped with the command that installs them. Benchmarks are not
 * tests: nothing here passes or fails on speed, but a tool that downloads wrong bytes, or
 * a NAR hash that disagrees with Nix's, makes the run exit non-zero.
 */
import { spawnSync } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cleanupNow, installCleanupHandlers, makeTempDir } from "./lib/cleanup.mjs";
import { detectPeers, environmentLines, readConfig } from "./lib/environment.mjs";
import * as largeFile from "./cases/large-file.mjs";
import * as rateLimited from "./cases/rate-limited.mjs";
import * as https from "./cases/https.mjs";
import * as smallFiles from "./cases/small-files.mjs";
import * as narHash from "./cases/nar-hash.mjs";
import * as overhead from "./cases/overhead.mjs";
import * as xet from "./cases/xet.mjs";
import * as endToEnd from "./cases/end-to-end.mjs";
import { findBenchModules, runBenchModule } from "./cases/modules.mjs";

const CLI = fileURLToPath(new URL("../dist/nix-model-repo.mjs", import.meta.url));
const CASES = {
  large: largeFile,
  limited: rateLimited,
  small: smallFiles,
  hash: narHash,
  overhead,
  xet,
  e2e: endToEnd,
  https,
};

function progress(message) {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K  … ${message}`);
  else process.stderr.write(`  … ${message}\n`);
}

function clearProgress() {
  if (process.stderr.isTTY) process.stderr.write("\r\x1b[K");
}

function section(number, title, text) {
  clearProgress();
  process.stdout.write(`\n== ${number}. ${title}\n${text}\n`);
}

/**
 * BENCH_NODE: the whole run under another node binary, so that ours, the floors and the Node
 * peers alike run on it. Every fixed-output derivation runs the fetcher on nixpkgs'
 * nodejs-slim (Node 24), not on the Node that builds and tests it here (docs/bench.md,
 * "Seventh round"). The bench starts itself again under it; null when it runs under it already.
 */
function runUnderBenchNode() {
  const wanted = process.env.BENCH_NODE;
  if (!wanted || realpathSync(wanted) === realpathSync(process.execPath)) return null;
  const run = spawnSync(wanted, [...process.execArgv, ...process.argv.slice(1)], { stdio: "inherit" });
  if (run.error) throw new Error(`BENCH_NODE=${wanted}: ${run.error.message}`);
  return run.status ?? 1;
}

async function main() {
  const underBenchNode = runUnderBenchNode();
  if (underBenchNode !== null) return underBenchNode;
  installCleanupHandlers();
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm run bench does) first`);
  const config = readConfig();
  const peers = detectPeers();
  const started = performance.now();
  const root = makeTempDir(config.tmp, "nix-model-repo-bench-");
  const failures = [];
  const state = {};

  process.stdout.write(
    `nix-model-repo bench — ratio = peer / ours (> 1: nix-model-repo is faster / smaller)\n${environmentLines(peers, config).join("\n")}\n`,
  );
  const missing = Object.entries(peers).filter(([, peer]) => peer.skip);
  for (const [name, peer] of missing) process.stdout.write(`skipped: ${name} ${peer.skip}\n`);

  let number = 0;
  for (const name of config.cases) {
    if (name === "modules") {
      const modules = await findBenchModules();
      if (modules.length === 0)
        section(
          ++number,
          "contributed benchmarks",
          "none found (a top-level bench/*.mjs exporting bench(); see bench/cases/modules.mjs)",
        );
      for (const path of modules) {
        try {
          const { title, text } = await runBenchModule(path, { config, cli: CLI, scratch: root, progress });
          section(++number, title, text);
        } catch (error) {
          failures.push(`${path}: ${error.message}`);
          section(++number, path, `failed: ${error.stack ?? error}`);
        }
      }
      continue;
    }
    const benchCase = CASES[name];
    const scratch = join(root, name);
    await mkdir(scratch, { recursive: true });
    const context = {
      config,
      peers,
      cli: CLI,
      scratch,
      progress,
      state,
      fail: (why) => failures.push(`${name}: ${why}`),
    };
    try {
      section(++number, benchCase.title, await benchCase.run(context));
    } catch (error) {
      failures.push(`${name}: ${error.message}`);
      section(++number, benchCase.title, `failed: ${error.stack ?? error}`);
    }
    // Case 1's output is the input of the hash case; everything else goes right away.
    if (name !== "large" || !config.cases.includes("hash")) await rm(scratch, { recursive: true, force: true });
    if (name === "hash") await rm(join(root, "large"), { recursive: true, force: true });
  }

  process.stdout.write(
    `\nload average at end: ${loadavg()
      .map((value) => value.toFixed(2))
      .join(" ")}; total ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
  );
  if (failures.length) process.stdout.write(`\nproblems:\n${failures.map((failure) => `  ${failure}`).join("\n")}\n`);
  return failures.length ? 1 : 0;
}

main().then(
  (code) => {
    cleanupNow();
    process.exitCode = code;
  },
  (error) => {
    cleanupNow();
    process.stderr.write(`bench: ${error.stack ?? error}\n`);
    process.exitCode = 1;
  },
);
