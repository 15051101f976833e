/**
 * Runs one command and measures it from outside: wall time (hrtime around spawn → exit)
 * and the peak resident set size of the process. Peak RSS comes from GNU time's %M
 * (getrusage of the waited child: exact) when /usr/bin/time exists, else from polling
 * VmHWM in /proc/<pid>/status (the kernel's own high-water mark; the last sample before
 * exit can miss a final spike).
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
 * Returns { ms, rssKiB, code, stdout, stderrTail, startedAt, endedAt } (times from performance.now()).
 */
export async function measure({ command, args, env, cwd }, scratch) {
  const rssFile = join(scratch, `rss-${process.pid}-${sequence++}`);
  const useTime = rssMethod === "GNU time %M";
  const [file, argv] = useTime ? [GNU_TIME, ["-f", "%M", "-o", rssFile, command, ...args]] : [command, args];
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
  if (useTime) {
    const text = await readFile(rssFile, "utf8").catch(() => "");
    await rm(rssFile, { force: true });
    // GNU time writes "Command exited with non-zero status N" before the figure on failure.
    const figure = text.trim().split("\n").at(-1);
    rssKiB = Number(figure) || 0;
  }
  return { ms: endedAt - startedAt, rssKiB, code, stdout, stderrTail: stderr.trim(), startedAt, endedAt };
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
