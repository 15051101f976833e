import { describeError } from "../errors/explain.js";
import { logger } from "../util/log.js";
import { printable } from "../util/printable.js";

/** A notify script gets this long; a hung notifier must not hang the build. */
const NOTIFY_TIMEOUT_MS = 60_000;

/**
 * Runs `onFailure.notify` after a fetch failed for good. FODs have network access, so
 * a script can reach a webhook; it gets the model name and the (redacted) error in
 * its environment, never a token. Its own failure is reported but never replaces the
 * fetch error.
 */
export async function runNotify(
  executable: string,
  name: string,
  error: unknown,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  // Loaded here, not at start-up: only a failed fetch with a notify hook needs it, and
  // every fetch (one per file, with a lockfile) would pay for node:child_process (~1-3 ms).
  const { spawn } = await import("node:child_process");
  const child = spawn(executable, [], {
    env: {
      PATH: env["PATH"] ?? "/usr/bin:/bin",
      NIX_MODEL_REPO_NAME: name,
      NIX_MODEL_REPO_ERROR: describeError(error),
    },
    stdio: ["ignore", "pipe", "pipe"],
    timeout: NOTIFY_TIMEOUT_MS,
  });
  const relay = (chunk: Buffer) => process.stderr.write(printable(chunk.toString(), { multiline: true }));
  child.stdout.on("data", relay);
  child.stderr.on("data", relay);
  const status = await new Promise<number | string>((resolve) => {
    child.on("error", (spawnError) => resolve(spawnError.message));
    child.on("close", (code, signal) => resolve(code ?? signal ?? "unknown"));
  });
  if (status !== 0) logger.warn(`onFailure.notify (${executable}) did not succeed: ${String(status)}`);
}
