import { parseArgs, type ParseArgsConfig } from "node:util";
import { UserError } from "../errors/user-error.js";

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * node:util parseArgs with the project's error format: a bad flag is a usage error
 * (exit status 2) that shows the command's usage, not a stack trace.
 */
export function parseCommandArgs<O extends Options>(
  usage: string,
  argv: readonly string[],
  options: O,
  { allowPositionals = true }: { allowPositionals?: boolean } = {},
) {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals, strict: true });
  } catch (error) {
    throw usageError(error instanceof Error ? error.message : String(error), usage);
  }
}

/** A mistake on the command line: exit status 2, with the command's usage as the fix. */
export function usageError(what: string, usage: string): UserError {
  return new UserError({ what, fix: [`usage:\n${usage}`] }, { exitCode: 2 });
}

/**
 * The values of flags a command cannot do without (each may come from the environment
 * instead); a usage error naming every one that is missing.
 */
export function requiredFlags<K extends string>(
  command: string,
  usage: string,
  flags: Readonly<Record<K, string | undefined>>,
): Record<K, string> {
  const missing = (Object.keys(flags) as K[]).filter((flag) => !flags[flag]);
  if (missing.length > 0) throw usageError(`${command} needs ${missing.join(" and ")}`, usage);
  return flags as Record<K, string>;
}

/** Parses a non-negative integer flag value, naming the flag on failure. */
export function integerFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) {
    throw new UserError({ what: `--${name} must be a non-negative integer, got '${value}'` }, { exitCode: 2 });
  }
  return parsed;
}

const SIZE_UNITS: Readonly<Record<string, number>> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** Parses a size flag: bytes, or a number with K, M, G or T (powers of 1024), e.g. "64M". */
export function sizeFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const match = /^(\d+(?:\.\d+)?)([KMGT]?)(?:i?B)?$/i.exec(value.trim());
  const bytes = match ? Math.floor(Number(match[1]) * SIZE_UNITS[match[2]!.toUpperCase()]!) : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new UserError(
      { what: `--${name} must be a size like 64M (K/M/G/T = 1024-based), got '${value}'` },
      { exitCode: 2 },
    );
  }
  return bytes;
}
