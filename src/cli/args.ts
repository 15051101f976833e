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
    throw new UserError(
      { what: error instanceof Error ? error.message : String(error), fix: [`usage:\n${usage}`] },
      { exitCode: 2 },
    );
  }
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
