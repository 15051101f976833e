import { coalesce, type CoalescedOutput } from "./coalesce.js";
import { nixProgress } from "./nix.js";
import { plainProgress } from "./plain.js";
import { silentProgress } from "./silent.js";
import { ttyProgress } from "./tty.js";
import type { ProgressReporter } from "./types.js";

/**
 * Chooses and builds the progress renderer.
 *
 * Selection: NIX_MODEL_REPO_PROGRESS=nix|tty|plain|none wins; else `nix` inside a Nix
 * build (NIX_BUILD_TOP and `out` are set: the FOD builder), else `tty` when stderr is a
 * terminal, else `plain`.
 */
export type ProgressMode = "nix" | "tty" | "plain" | "none";

const MODES: readonly ProgressMode[] = ["nix", "tty", "plain", "none"];

export function selectProgressMode(
  env: NodeJS.ProcessEnv = process.env,
  stderrIsTty = process.stderr.isTTY === true,
): ProgressMode {
  const requested = env["NIX_MODEL_REPO_PROGRESS"]?.trim().toLowerCase();
  if (requested && (MODES as readonly string[]).includes(requested)) return requested as ProgressMode;
  if (env["NIX_BUILD_TOP"] && env["out"] !== undefined) return "nix";
  return stderrIsTty ? "tty" : "plain";
}

export interface ProgressOutput {
  /** Defaults to writing to stderr. */
  readonly write?: (text: string) => void;
  readonly now?: () => number;
  readonly columns?: () => number;
}

export function createProgressReporter(
  mode: ProgressMode = selectProgressMode(),
  output: ProgressOutput = {},
): ProgressReporter {
  const write = output.write ?? ((text: string) => void process.stderr.write(text));
  const now = output.now ?? (() => performance.now());
  const columns = output.columns ?? (() => process.stderr.columns ?? 80);
  switch (mode) {
    case "nix":
      return flushedAtEnd(coalesce(write), (lines) => nixProgress({ write: lines, now }));
    case "tty":
      // Redrawn in place at most ten times a second already.
      return ttyProgress({ write, now, columns });
    case "plain":
      return flushedAtEnd(coalesce(write), (lines) => plainProgress({ write: lines, now }));
    case "none":
      return silentProgress;
  }
}

/** A line renderer whose lines are coalesced, all of them written when the fetch ends. */
function flushedAtEnd(
  output: CoalescedOutput,
  render: (write: (text: string) => void) => ProgressReporter,
): ProgressReporter {
  const reporter = render(output.write);
  return {
    ...reporter,
    end: (outcome) => {
      reporter.end(outcome);
      output.flush();
    },
  };
}
