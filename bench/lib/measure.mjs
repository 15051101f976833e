/**
 * Runs one command and measures it from outside: wall time (hrtime around spawn → exit),
 * the peak resident set size of the process and the CPU time it used (user + system, all
 * its threads and the children it waited for: a nix-build's builders, a Python client's
 * threads). Peak RSS and CPU come from GNU time's %M %U %S (the rusage of the waited
 * child: exact) when /usr/bin/time exists; without it peak RSS comes from polling VmHWM in
 * /proc/<pid>/status (the kernel's own high-water mark; the last sample before exit can
 * miss a final spike) and CPU is not measured.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { OWN_GROUP, trackChild } from "./cleanup.mjs";

const GNU_TIME = "/usr/bin/time";
export const rssMethod = existsSync(GNU_TIME) ? "GNU time %M" : "/proc VmHWM polling";

let sequence = 0;

/**
 * command: { command, args, env?, cwd? }; scratch: a directory for the time output.
 * Returns { ms, rssKiB, cpuSeconds?, code, stdout, stderrTail, startedAt, endedAt } (times from
 * performance.now()).
 */
export async function measure({ command, args, env, cwd }, scratch) {
  const rssFile = join(scratch, `rss-${process.pid}-${sequence++}`);
  const useTime = rssMethod === "GNU time %M";
  const [file, argv] = useTime ? [GNU_TIME, ["-f", "%M %U %S", "-o", rssFile, command, ...args]] : [command, args];
  const startedAt = performance.now();
  const child = trackChild(
    spawn(file, argv, { ...OWN_GROUP, env: env ?? process.env, cwd, stdio: ["ignore", "pipe", "pipe"] }),
  );
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (text) => {
    if (stdout.length < 1 << 20) stdout += text;
  });
  child.stderr.setEncoding("utf8").on("data", (text) => {
    stderr = (stderr + text).slice(-4000);
  });
  let polledKiB = 0;
  const poll = useTime
    ? undefined
    : setInterval(() => {
        readFile(`/proc/${child.pid}/status`, "utf8").then(
          (status) => {
            const match = /VmHWM:\s+(\d+) kB/.exec(status);
            if (match) polledKiB = Math.max(polledKiB, Number(match[1]));
          },
          () => {},
        );
      }, 25);
  const code = await new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (exitCode, signal) => resolve(exitCode ?? (signal ? 128 : 1)));
  });
  const endedAt = performance.now();
  if (poll) clearInterval(poll);
  let rssKiB = polledKiB;
  let cpuSeconds;
  if (useTime) {
    const text = await readFile(rssFile, "utf8").catch(() => "");
    await rm(rssFile, { force: true });
    // GNU time writes "Command exited with non-zero status N" before the figures on failure.
    const [rss, user, system] = (text.trim().split("\n").at(-1) ?? "").split(" ").map(Number);
    rssKiB = rss || 0;
    if (Number.isFinite(user) && Number.isFinite(system)) cpuSeconds = user + system;
  }
  return { ms: endedAt - startedAt, rssKiB, cpuSeconds, code, stdout, stderrTail: stderr.trim(), startedAt, endedAt };
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
