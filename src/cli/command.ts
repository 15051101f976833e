/**
 * A CLI subcommand. Each lives in src/cli/commands/<name>.ts and is loaded only when
 * invoked, so `nix-model-repo hash` does not pay for the S3 client's start-up; its name
 * and one-line summary are listed once, in commands/index.ts.
 */
export interface Command {
  /** Full usage text for `nix-model-repo <name> --help`. */
  readonly usage: string;
  /** Returns the process exit status. Throws UserError for user-facing failures. */
  run(argv: readonly string[]): Promise<number>;
}

export type CommandLoader = () => Promise<Command>;
