import { redact } from "../util/secrets.js";

/**
 * The one error format users see (DESIGN.md §7): what failed, with the context that
 * identifies it (source, repo, revision, file), the cause (HTTP status or system
 * error) and what to do about it. Secrets are redacted when the message is rendered.
 */
export interface FailureContext {
  readonly [field: string]: string | number | undefined;
}

export interface UserErrorDetails {
  /** One line: what failed. "Failed to fetch model acme/tiny". */
  readonly what: string;
  /** Identifying fields, printed in this order: source, repo, revision, file, url... */
  readonly context?: FailureContext;
  /** The cause: "HTTP 404 Not Found (EntryNotFound)", "ECONNREFUSED". */
  readonly cause?: string;
  /** What the user can do, one step per entry. */
  readonly fix?: readonly string[];
}

export class UserError extends Error {
  readonly details: UserErrorDetails;
  /** Process exit status the CLI uses for this error. */
  readonly exitCode: number;

  constructor(details: UserErrorDetails, options?: { exitCode?: number; cause?: unknown }) {
    super(redact(renderUserError(details)), options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "UserError";
    this.details = details;
    this.exitCode = options?.exitCode ?? 1;
  }
}

export function renderUserError(details: UserErrorDetails): string {
  const lines = [`error: ${details.what}`];
  const context = Object.entries(details.context ?? {}).filter(([, value]) => value !== undefined && value !== "");
  if (context.length > 0) {
    const width = Math.max(...context.map(([key]) => key.length));
    lines.push("");
    for (const [key, value] of context) lines.push(`  ${`${key}:`.padEnd(width + 1)} ${String(value)}`);
  }
  if (details.cause) {
    lines.push("", `  cause: ${details.cause}`);
  }
  if (details.fix && details.fix.length > 0) {
    lines.push("", "  to fix this:");
    details.fix.forEach((step, index) => {
      const [first, ...rest] = step.split("\n");
      lines.push(`    ${index + 1}. ${first}`);
      for (const line of rest) lines.push(`       ${line}`);
    });
  }
  return redact(lines.join("\n"));
}

/** A message for any thrown value, redacted; UserErrors keep their full format. */
export function describeError(error: unknown): string {
  if (error instanceof UserError) return error.message;
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return redact(code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message);
  }
  return redact(String(error));
}
