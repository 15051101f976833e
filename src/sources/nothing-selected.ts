import type { FailureContext } from "../errors/render.js";
import { UserError } from "../errors/user-error.js";

/**
 * The error for a source whose `files` patterns select nothing (or that has nothing to
 * select): what was asked, and a dozen of the paths there are, to write patterns from.
 */
export interface NothingSelected {
  /** What one item is: "file", "object". */
  readonly noun: string;
  /** Where they were looked for: "of acme/tiny at revision main", "under s3://models/tiny/". */
  readonly where: string;
  readonly context: FailureContext;
  /** How patterns match, for the fix: "Patterns are fnmatch patterns over paths ...". */
  readonly patternRule: string;
  /** Paths there are, before selection: all of them, or the first few of `availableCount`. */
  readonly available: readonly string[];
  /** How many there are, when `available` holds only the first few (a listing filtered while read). */
  readonly availableCount?: number;
  /** What to check when there is nothing at all. */
  readonly whenEmpty: readonly string[];
}

const SAMPLE_SIZE = 12;

export function nothingSelected(details: NothingSelected): UserError {
  const { available } = details;
  const count = details.availableCount ?? available.length;
  const sample =
    available.slice(0, SAMPLE_SIZE).join(", ") + (count > Math.min(available.length, SAMPLE_SIZE) ? ", ..." : "");
  return new UserError({
    what:
      count === 0
        ? `No ${details.noun}s ${details.where}`
        : `No ${details.noun} ${details.where} matches the \`files\` patterns`,
    context: details.context,
    fix: count === 0 ? details.whenEmpty : [`${details.patternRule} There are: ${sample}`],
  });
}
