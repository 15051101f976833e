import { usageError } from "./args.js";

/**
 * -v/--verbose and -q/--quiet, the same for every command, anywhere on the command line
 * (before a `--`). They are shorthands for the variables the rest of the program (and the
 * child processes it starts, such as validate's checks) already read:
 *
 *   -q, --quiet    NIX_MODEL_REPO_LOG=warn   and NIX_MODEL_REPO_PROGRESS=none
 *   -v, --verbose  NIX_MODEL_REPO_LOG=debug
 *
 * As with any option, the command line wins over the environment.
 *
 * What each level prints is in docs/errors.md. Results on stdout (prefetch's expression,
 * scan's report, hash) are never affected.
 */
export const VERBOSITY_HELP = `common options (every command):
  -v, --verbose   also print each HTTP request and answer, and other details (NIX_MODEL_REPO_LOG=debug)
  -q, --quiet     print only warnings and errors: no progress, no notes (NIX_MODEL_REPO_LOG=warn)
  -h, --help      this help`;

const VERBOSE = new Set(["-v", "--verbose"]);
const QUIET = new Set(["-q", "--quiet"]);

/** Removes the verbosity flags from `argv` and applies them to `env`; the rest is the command's. */
export function applyVerbosity(argv: readonly string[], usage: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const end = argv.indexOf("--");
  const flags = end === -1 ? argv : argv.slice(0, end);
  const verbose = flags.some((arg) => VERBOSE.has(arg));
  const quiet = flags.some((arg) => QUIET.has(arg));
  if (verbose && quiet) throw usageError("--verbose and --quiet cannot be used together", usage);
  if (verbose) env["NIX_MODEL_REPO_LOG"] = "debug";
  if (quiet) {
    env["NIX_MODEL_REPO_LOG"] = "warn";
    env["NIX_MODEL_REPO_PROGRESS"] = "none";
  }
  return [...flags.filter((arg) => !VERBOSE.has(arg) && !QUIET.has(arg)), ...(end === -1 ? [] : argv.slice(end))];
}
