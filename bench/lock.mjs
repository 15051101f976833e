/**
 * The lockfile (docs/lockfile.md), measured in one run:
 *
 * 1. Updating a 3-shard model after upstream changed one small file (config.json):
 *    `nix-model-repo update` against re-fetching it whole as a single-hash fetchModel user
 *    must (`nix-model-repo prefetch`: download, NAR hash, add to the store). Wall time
 *    and the bytes the server sent, counted on the wire by a proxy.
 * 2. The fixed cost of a per-file fetch, which decides where files stop being worth a
 *    store path of their own: one tiny file through `fetch` with a `select` spec (the
 *    per-file builder, outside Nix); the same inside Nix, per fixed-output derivation,
 *    for N tiny files each in its own derivation against the same N in the one small-files
 *    derivation; and Nix's own cost per derivation (a builder that writes one byte).
 *
 * Needs Nix (nix-build, nix-store; single-user or a trusted user) and the test stand-in
 * pkgs; everything it adds to the store it deletes again.
 */
import { execFile } from "node:child_process";
import { createServer, connect } from "node:net";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { writeHubRepo } from "./lib/fixture.mjs";
import { measure, median } from "./lib/measure.mjs";
import { startHubServer } from "./lib/servers.mjs";
import { fixed, MiB } from "./lib/table.mjs";
import { cleanEnv } from "./lib/tools.mjs";
import { oursCommand } from "./lib/ours-command.mjs";

export const title = "lockfile: update of one small file, and the fixed cost of a per-file fetch";

const run = promisify(execFile);
const REPO = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
const SHARD_MIB = Number(process.env.BENCH_LOCK_SHARD_MIB || 96);
const TINY_FILES = Number(process.env.BENCH_LOCK_TINY_FILES || 12);

/** Counts the bytes a server sends through it (the wire, headers included). */
async function countingProxy(port) {
  let target = port;
  let bytes = 0;
  const sockets = new Set();
  const server = createServer((client) => {
    const upstream = connect(target, "127.0.0.1");
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => socket.destroy());
      socket.on("close", () => sockets.delete(socket));
    }
    upstream.on("data", (chunk) => {
      bytes += chunk.length;
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    take() {
      const taken = bytes;
      bytes = 0;
      return taken;
    },
    retarget(next) {
      target = next;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

const portOf = (url) => Number(new URL(url).port);

async function deleteFromStore(paths) {
  // Unrooted paths that nothing valid refers to any more; one that is still referred to stays.
  for (const path of paths) await run("nix-store", ["--delete", path]).catch(() => undefined);
}

async function nixBuild(expression, scratch, env) {
  const file = join(scratch, `expr-${Math.random().toString(36).slice(2)}.nix`);
  await writeFile(file, expression);
  const started = performance.now();
  const { stdout } = await run("nix-build", ["--no-out-link", "--option", "substituters", "", file], {
    env: { ...process.env, ...env },
    maxBuffer: 64 << 20,
  });
  return { ms: performance.now() - started, paths: stdout.trim().split("\n") };
}

const prelude = `let
  pkgs = import ${REPO}/test/nix/pkgs.nix { };
  nmr = import ${REPO}/lib { inherit pkgs; fetcher = pkgs.nix-model-repo-dev; };
in`;

/** Case 1: update against re-fetching with fetchModel. */
async function updateCase({ cli, scratch, runs, progress }) {
  const hubRoot = join(scratch, "lock-hub");
  const shards = [1, 2, 3].map((i) => ({
    path: `model-0000${i}-of-00003.safetensors`,
    size: SHARD_MIB * MiB,
    seed: `shard-${i}-${Date.now()}`,
  }));
  const small = (revision) => [
    { path: "config.json", size: 700 + revision, seed: `config-${revision}-${Date.now()}` },
    { path: "tokenizer.json", size: 200_000, seed: `tokenizer-${Date.now()}` },
  ];
  await writeHubRepo(hubRoot, "bench/sharded", [...shards, ...small(0)]);
  let hub = await startHubServer(cli, hubRoot);
  const proxy = await countingProxy(portOf(hub.url));
  const env = { ...cleanEnv(scratch), HF_ENDPOINT: proxy.url, NIX_MODEL_REPO_PROGRESS: "none" };
  const lock = join(scratch, "models.lock.json");
  const pristine = join(scratch, "models.lock.pristine.json");
  const toDelete = [];
  const ours = { ms: [], bytes: [], rssKiB: [] };
  const peer = { ms: [], bytes: [], rssKiB: [] };
  try {
    progress("lock: add (untimed)");
    const added = await measure(
      { ...oursCommand(cli, ["add", "sharded", "hf:bench/sharded", "--lock", lock, "--json"]), env },
      scratch,
    );
    if (added.code !== 0) throw new Error(`add failed: ${added.stderrTail}`);
    toDelete.push(...JSON.parse(added.stdout).storePaths);
    await copyFile(lock, pristine);
    for (let index = 1; index <= runs; index++) {
      // Upstream: a new commit on main changing config.json only; the lock is back where it was.
      await writeHubRepo(hubRoot, "bench/sharded", [...shards, ...small(index)]);
      await hub.close();
      hub = await startHubServer(cli, hubRoot);
      proxy.retarget(portOf(hub.url));
      await copyFile(pristine, lock);
      proxy.take();

      progress(`lock: update, run ${index} of ${runs}`);
      const update = await measure({ ...oursCommand(cli, ["update", "--lock", lock, "--json"]), env }, scratch);
      if (update.code !== 0) throw new Error(`update failed: ${update.stderrTail}`);
      ours.ms.push(update.ms);
      ours.rssKiB.push(update.rssKiB);
      ours.bytes.push(proxy.take());
      toDelete.push(...(JSON.parse(update.stdout).models[0].storePaths ?? []));

      progress(`lock: prefetch (fetchModel's re-fetch), run ${index} of ${runs}`);
      const prefetch = await measure(
        { ...oursCommand(cli, ["prefetch", "hf:bench/sharded", "--name", "sharded", "--json"]), env },
        scratch,
      );
      if (prefetch.code !== 0) throw new Error(`prefetch failed: ${prefetch.stderrTail}`);
      peer.ms.push(prefetch.ms);
      peer.rssKiB.push(prefetch.rssKiB);
      peer.bytes.push(proxy.take());
      await deleteFromStore([JSON.parse(prefetch.stdout).storePath]);
    }
  } finally {
    proxy.close();
    await hub.close();
    await deleteFromStore(toDelete);
  }
  const row = (name, figures, ratioTo) => [
    name,
    fixed(median(figures.ms) / 1000, 3),
    fixed(median(figures.bytes) / MiB, 3),
    fixed(median(figures.rssKiB) / 1024, 1),
    ratioTo ? `${fixed(median(figures.ms) / median(ratioTo.ms))}×` : "(ours)",
    ratioTo ? `${fixed(median(figures.bytes) / median(ratioTo.bytes), 0)}×` : "(ours)",
  ];
  return {
    header: [
      `3 × ${SHARD_MIB} MiB shards, config.json changed`,
      "median s",
      "MiB on the wire",
      "peak RSS MiB",
      "time ratio",
      "bytes ratio",
    ],
    rows: [row("nix-model-repo update", ours), row("re-fetch whole (prefetch, as fetchModel needs)", peer, ours)],
  };
}

/** A Hub repo of `count` tiny files, locked with every file large (its own store path) or all small. */
async function tinyLock({ cli, scratch, hubUrl, name, largeFrom }) {
  const lock = join(scratch, `${name}.lock.json`);
  const result = await measure(
    {
      // Without nix-store on PATH nothing is added: the Nix build must fetch every file.
      ...oursCommand(cli, ["add", name, `hf:bench/${name}`, "--lock", lock, "--large-from", largeFrom]),
      env: { ...cleanEnv(scratch), PATH: "/nonexistent", HF_ENDPOINT: hubUrl, NIX_MODEL_REPO_PROGRESS: "none" },
    },
    scratch,
  );
  if (result.code !== 0) throw new Error(`add ${name} failed: ${result.stderrTail}`);
  return lock;
}

/** Case 2: the fixed cost of a per-file fetch, outside and inside Nix. */
async function fixedCostCase({ cli, scratch, runs, progress }) {
  const hubRoot = join(scratch, "tiny-hub");
  const stamp = Date.now();
  const files = (prefix) =>
    Array.from({ length: TINY_FILES }, (_, i) => ({ path: `f${i}.bin`, size: 200, seed: `${prefix}-${i}-${stamp}` }));
  await writeHubRepo(hubRoot, "bench/one", [{ path: "config.json", size: 200, seed: `one-${stamp}` }]);
  for (let index = 0; index < runs; index++) {
    await writeHubRepo(hubRoot, `bench/each${index}`, files(`each${index}`));
    await writeHubRepo(hubRoot, `bench/grouped${index}`, files(`grouped${index}`));
  }
  const hub = await startHubServer(cli, hubRoot);
  const env = { ...cleanEnv(scratch), HF_ENDPOINT: hub.url, NIX_MODEL_REPO_PROGRESS: "none" };
  const rows = [];
  const toDelete = [];
  try {
    // Outside Nix: one tiny file through the per-file builder, against node's own start.
    const specOf = (select) =>
      JSON.stringify({
        specVersion: 1,
        name: "one",
        source: { type: "huggingface", repo: "bench/one" },
        ...(select ? { select } : {}),
      });
    const lockOne = await tinyLock({ cli, scratch, hubUrl: hub.url, name: "one", largeFrom: "0" });
    const entry = JSON.parse(await readFile(lockOne, "utf8")).models.one;
    const select = {
      output: "file",
      resolved: entry.resolved,
      files: entry.files.map(({ path, size, sha256 }) => ({ path, size, sha256 })),
    };
    await writeFile(join(scratch, "select.json"), specOf(select));
    await writeFile(join(scratch, "whole.json"), specOf(null));
    const timings = { select: [], whole: [], node: [] };
    for (let index = 0; index < runs * 2; index++) {
      progress(`per-file fetch outside Nix, run ${index + 1} of ${runs * 2}`);
      const out = join(scratch, `one-${index}`);
      const perFile = await measure(
        { ...oursCommand(cli, ["fetch", "--spec", join(scratch, "select.json"), "--out", out]), env },
        scratch,
      );
      if (perFile.code !== 0) throw new Error(`per-file fetch failed: ${perFile.stderrTail}`);
      timings.select.push(perFile.ms);
      const whole = await measure(
        { ...oursCommand(cli, ["fetch", "--spec", join(scratch, "whole.json"), "--out", `${out}-whole`]), env },
        scratch,
      );
      timings.whole.push(whole.ms);
      timings.node.push((await measure({ command: process.execPath, args: ["-e", ""] }, scratch)).ms);
    }
    rows.push(["per-file fetch, one 200-byte file (fetch with select)", fixed(median(timings.select), 0), "-"]);
    rows.push([
      "whole-model fetch of the same file (fetch)",
      fixed(median(timings.whole), 0),
      `${fixed(median(timings.whole) / median(timings.select))}×`,
    ]);
    rows.push(["floor: node -e ''", fixed(median(timings.node), 0), "-"]);

    // Inside Nix, per derivation: N files in N derivations against N in one; and Nix's floor.
    const each = [];
    const grouped = [];
    const floor = [];
    for (let index = 0; index < runs; index++) {
      progress(`per-file fetch inside Nix, run ${index + 1} of ${runs}`);
      const lockEach = await tinyLock({ cli, scratch, hubUrl: hub.url, name: `each${index}`, largeFrom: "0" });
      const built = await nixBuild(
        `${prelude} builtins.attrValues (nmr.fromLock ${lockEach}).each${index}.lockedFiles.blobs`,
        scratch,
        env,
      );
      each.push(built.ms / TINY_FILES);
      toDelete.push(...built.paths);
      const lockGrouped = await tinyLock({ cli, scratch, hubUrl: hub.url, name: `grouped${index}`, largeFrom: "1G" });
      const together = await nixBuild(
        `${prelude} (nmr.fromLock ${lockGrouped}).grouped${index}.lockedFiles.smallFiles`,
        scratch,
        env,
      );
      grouped.push(together.ms / TINY_FILES);
      toDelete.push(...together.paths);
      const trivial = await nixBuild(
        `${prelude} builtins.genList (i: derivation { name = "nmr-bench-floor-${stamp}-${index}-\${toString i}"; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" "echo > $out" ]; }) ${TINY_FILES}`,
        scratch,
        env,
      );
      floor.push(trivial.ms / TINY_FILES);
      toDelete.push(...trivial.paths);
    }
    rows.push([`per-file fixed-output derivation (${TINY_FILES} tiny files, one each)`, fixed(median(each), 0), "-"]);
    rows.push([
      `the same files in one small-files derivation, per file`,
      fixed(median(grouped), 0),
      `${fixed(median(each) / median(grouped))}× cheaper`,
    ]);
    rows.push(["floor: Nix per derivation (a builder writing one byte)", fixed(median(floor), 0), "-"]);
  } finally {
    await hub.close();
    await deleteFromStore(toDelete);
  }
  return {
    header: ["fixed cost", "median ms", "ratio"],
    rows,
    notes: [
      "Nix builds run one at a time (max-jobs = 1, this machine's setting); with more jobs the per-file figure shrinks, the floor does not.",
    ],
  };
}

export async function bench(context) {
  await mkdir(context.scratch, { recursive: true });
  const update = await updateCase(context);
  const fixedCost = await fixedCostCase(context);
  const { formatTable } = await import("./lib/table.mjs");
  return [
    formatTable(update.header, update.rows),
    "",
    formatTable(fixedCost.header, fixedCost.rows),
    ...fixedCost.notes.map((note) => `  note: ${note}`),
  ].join("\n");
}
