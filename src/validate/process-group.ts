import { spawn } from "node:child_process";

/**
 * Runs one validator process in a process group of its own, so that a timeout ends
 * everything it started (a script's `sleep`, a Python child), not just the shell.
 * Output is handed over line by line as it comes, for the build log.
 */
export interface GroupRunOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly timeoutMs: number;
  readonly onLine: (line: string) => void;
  /** After SIGTERM, how long the group gets before SIGKILL. */
  readonly graceMs?: number;
}

export interface GroupRunResult {
  /** Exit status, or null when a signal ended it. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  /** The spawn itself failed (the program does not exist, ...). */
  readonly spawnError?: string;
}

const MAX_LINE = 8192;
/** setTimeout's limit (about 24.8 days); a longer timeout would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** How long to wait for output pipes held open by leftovers in another group. */
const DRAIN_MS = 2000;

export function runProcessGroup(
  command: string,
  args: readonly string[],
  options: GroupRunOptions,
): Promise<GroupRunResult> {
  return new Promise((resolve) => {
    let timedOut = false;
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    const child = spawn(command, [...args], {
      env: options.env,
      cwd: options.cwd,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });

    const killGroup = (signal: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // ESRCH: the group is already gone.
      }
    };
    const finish = (result: GroupRunResult) => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve(result);
    };

    const pending = { stdout: "", stderr: "" };
    const emit = (stream: "stdout" | "stderr", chunk: Buffer | string, flush: boolean) => {
      pending[stream] += chunk.toString();
      const lines = pending[stream].split("\n");
      pending[stream] = flush ? "" : lines.pop()!;
      for (const line of lines) {
        if (flush && line === "" && lines.length === 1) continue;
        options.onLine(line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}… (line cut)` : line);
      }
      // A line without a newline for too long still gets out, in pieces.
      while (pending[stream].length > MAX_LINE) {
        options.onLine(pending[stream].slice(0, MAX_LINE));
        pending[stream] = pending[stream].slice(MAX_LINE);
      }
    };
    child.stdout.on("data", (chunk: Buffer) => emit("stdout", chunk, false));
    child.stderr.on("data", (chunk: Buffer) => emit("stderr", chunk, false));

    timers.push(
      setTimeout(
        () => {
          timedOut = true;
          killGroup("SIGTERM");
          timers.push(setTimeout(() => killGroup("SIGKILL"), options.graceMs ?? 3000));
        },
        Math.min(options.timeoutMs, MAX_TIMER_MS),
      ),
    );

    child.on("error", (error) => finish({ code: null, signal: null, timedOut: false, spawnError: error.message }));
    child.on("exit", (code, signal) => {
      exited = { code, signal };
      // Whatever the validator left running in its group goes with it.
      killGroup("SIGKILL");
      timers.push(setTimeout(() => finish({ ...exited!, timedOut }), DRAIN_MS));
    });
    child.on("close", () => {
      emit("stdout", "", true);
      emit("stderr", "", true);
      if (exited) finish({ ...exited, timedOut });
    });
  });
}
