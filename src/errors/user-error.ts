import type { FailureCode } from "./failures.js";
import { renderUserError, type UserErrorDetails } from "./render.js";

/**
 * An error in the user's words, rendered in the one format (render.ts). Thrown where the
 * words are known at once (a bad option, nothing matching `files`), and made by
 * explain.ts from the typed failures the engine and the adapters throw.
 */
export class UserError extends Error {
  readonly details: UserErrorDetails;
  /** Process exit status the CLI uses for this error. */
  readonly exitCode: number;
  /** The code of the typed failure it explains, when it explains one (failures.ts). */
  readonly code: FailureCode | undefined;

  constructor(details: UserErrorDetails, options?: { exitCode?: number; cause?: unknown; code?: FailureCode }) {
    super(renderUserError(details), options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "UserError";
    this.details = details;
    this.exitCode = options?.exitCode ?? 1;
    this.code = options?.code;
  }
}
