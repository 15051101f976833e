import { rmSync } from "node:fs";
import { constants } from "node:os";

/**
 * Ctrl-C and `kill` while a command runs. Node's default is to exit at once, which skips
 * every `finally`: an interrupted `prefetch` left its $TMPDIR/nix-model-repo-prefetch-*
 * directory behind, `.incomplete` files and finished blobs of gigabytes.
 *
 * Instead, the first SIGINT, SIGTERM or SIGHUP aborts the command's signal: transfers stop,
 * each removes its `.incomplete` file, the fetch removes its output, the command removes its
 * scratch directory, and the CLI exits with 128 + the signal's number (130 for SIGINT), as a
 * shell does. A second signal does not wait: the scratch directories registered with
 * `removeOnExit` are removed synchronously, and the process exits. Nothing is resumed
 * later: an interrupted prefetch starts over, from an empty directory.
 */
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
type HandledSignal = (typeof SIGNALS)[number];

/** The abort reason when a signal stopped the command. */
export class Interrupted extends Error {
  constructor(readonly signalName: HandledSignal) {
    super(`interrupted by ${signalName}`);
    this.name = "Interrupted";
  }

  /** 128 + the signal's number. */
  get exitCode(): number {
    return 128 + constants.signals[this.signalName];
  }
}

const controller = new AbortController();
const scratch = new Set<string>();

/** Aborted by the first SIGINT, SIGTERM or SIGHUP, with an Interrupted as its reason. */
export const interruptSignal: AbortSignal = controller.signal;

let installed = false;

/**
 * Installs the handlers, for a command that downloads (`fetch`, `prefetch`); `serve` has its
 * own (there SIGHUP re-scans).
 */
export function handleInterrupts(): void {
  if (installed) return;
  installed = true;
  for (const name of SIGNALS) {
    process.on(name, () => {
      if (!controller.signal.aborted) {
        controller.abort(new Interrupted(name));
        return;
      }
      for (const path of scratch) rmSync(path, { recursive: true, force: true });
      process.exit(new Interrupted(name).exitCode);
    });
  }
}

/** A directory to remove even when a second signal cuts the orderly cleanup short. */
export function removeOnExit(path: string): { release(): void } {
  scratch.add(path);
  return { release: () => scratch.delete(path) };
}

/** The Interrupted behind an error, when a signal is why the command failed. */
export function interruption(error: unknown): Interrupted | undefined {
  if (error instanceof Interrupted) return error;
  return controller.signal.aborted && controller.signal.reason instanceof Interrupted
    ? controller.signal.reason
    : undefined;
}
