import { redact } from "../util/secrets.js";

/**
 * The typed failures the fetcher throws, each with a stable `code` (like undici's
 * lib/core/errors.js): the engine, the HTTP client and the adapters throw these; one
 * place (explain.ts) turns them into the message a user reads. Nothing here knows about
 * sources, Nix options or the output layout, so every layer can import it.
 *
 * Codes are stable: tests, logs and users may rely on them. The class of a failure says
 * what went wrong; the code says which user-facing class it falls in.
 */
export type FailureCode =
  /** The connection failed: refused, reset, timed out, DNS (no HTTP status). */
  | "NMR_NETWORK"
  /** TLS certificate verification failed. */
  | "NMR_TLS"
  /** HTTP 401 or 403: no or wrong credentials, or no access. */
  | "NMR_AUTH"
  /** HTTP 404 or 410. */
  | "NMR_NOT_FOUND"
  /** HTTP 429. */
  | "NMR_RATE_LIMITED"
  /** HTTP 5xx or 408: the server's trouble. */
  | "NMR_SERVER"
  /** Another HTTP status the request did not expect. */
  | "NMR_HTTP"
  /** An answer the fetcher cannot use: malformed JSON, a bad Content-Range, a redirect loop. */
  | "NMR_BAD_RESPONSE"
  /** Size or digest differs from what the source vouches for. */
  | "NMR_INTEGRITY"
  /** A digest cannot be checked (a git blob id without the size). */
  | "NMR_UNVERIFIABLE"
  /** Writing the output failed: no space, no permission, read-only file system. */
  | "NMR_DISK"
  /** The fetch spec (or a command line) is not what the fetcher reads. */
  | "NMR_BAD_SPEC";

/** What every typed failure has. */
export abstract class Failure extends Error {
  abstract readonly code: FailureCode;
}

/** The code of an HTTP status the request did not expect. */
function statusCode(status: number): FailureCode {
  if (status === 401 || status === 403) return "NMR_AUTH";
  if (status === 404 || status === 410) return "NMR_NOT_FOUND";
  if (status === 429) return "NMR_RATE_LIMITED";
  if (status >= 500 || status === 408) return "NMR_SERVER";
  return "NMR_HTTP";
}

export interface TransferFailureOptions {
  readonly retryable: boolean;
  /** Default: from `status` (statusCode), else NMR_NETWORK. */
  readonly code?: FailureCode;
  readonly retryAfterMs?: number;
  readonly status?: number;
  readonly cause?: unknown;
  readonly url?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly serverMessage?: string;
}

/**
 * A failed request or transfer, classified for the retry policy.
 * `retryable` false means trying again cannot help (401, 403, 404, a bad digest twice).
 */
export class TransferFailure extends Failure {
  readonly code: FailureCode;
  readonly retryable: boolean;
  /** Server-requested wait before the next attempt (Retry-After / RateLimit reset). */
  readonly retryAfterMs: number | undefined;
  readonly status: number | undefined;
  /** The URL that failed (the last hop of a redirect chain), safe to print: no query string, no userinfo. */
  readonly url: string | undefined;
  /**
   * Response headers of the failed response (lower-case names), so a source can
   * explain the failure, e.g. the Hub's `x-error-code: GatedRepo`. Never holds
   * request headers, so no credential can end up here.
   */
  readonly headers: Readonly<Record<string, string>>;
  /** The server's own short explanation (X-Error-Message, a JSON `error` field or a text excerpt), redacted. */
  readonly serverMessage: string | undefined;

  constructor(message: string, options: TransferFailureOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "TransferFailure";
    this.code = options.code ?? (options.status === undefined ? "NMR_NETWORK" : statusCode(options.status));
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
    this.status = options.status;
    this.url = options.url;
    this.headers = options.headers ?? {};
    this.serverMessage = options.serverMessage;
  }
}

/** Size or digest differs from what the source vouched for. The engine fetches the file again once. */
export class IntegrityFailure extends Failure {
  readonly code = "NMR_INTEGRITY";

  constructor(message: string) {
    super(message);
    this.name = "IntegrityFailure";
  }
}

/** A digest that cannot be checked: a git blob id needs the size before the first byte. */
export class UnverifiableFailure extends Failure {
  readonly code = "NMR_UNVERIFIABLE";

  constructor(message: string) {
    super(message);
    this.name = "UnverifiableFailure";
  }
}

/** Writing the output failed: no space, no permission, a read-only file system. */
export class DiskFailure extends Failure {
  readonly code = "NMR_DISK";
  /** The system error code: "ENOSPC", "EACCES"... */
  readonly errno: string;

  constructor(
    /** The file being written. */
    readonly path: string,
    cause: NodeJS.ErrnoException,
  ) {
    super(cause.message, { cause });
    this.name = "DiskFailure";
    this.errno = cause.code ?? "EIO";
  }
}

/**
 * The planned downloads do not fit where they are written: found before the first byte
 * moves, by comparing the listed sizes with the free space of the file system (statfs).
 * What a plan cannot foresee (files without a listed size, other writers) still ends in
 * ENOSPC, as a DiskFailure.
 */
export class InsufficientSpaceFailure extends Failure {
  readonly code = "NMR_DISK";

  constructor(
    /** The directory the downloads go to (the first of them on that file system). */
    readonly directory: string,
    /** Bytes the planned files need there. */
    readonly needed: number,
    /** Bytes free there for an unprivileged writer. */
    readonly available: number,
  ) {
    super(`the files to download need ${needed} bytes in ${directory}, and ${available} are free there`);
    this.name = "InsufficientSpaceFailure";
  }
}

/** A JSON document the fetcher reads (the fetch spec, the validation config), as its errors name it. */
export interface SpecDocument {
  /** "fetch spec": its errors read "Invalid fetch spec: ...". */
  readonly title: string;
  /** What to do about an error in it, one step each. */
  readonly fix: readonly string[];
  /** Where to read about it. */
  readonly help?: string;
  /** The CLI's exit status for its errors (2 for a document only the Nix library writes, like a usage error). */
  readonly exitCode: number;
}

/** A field of a JSON document the fetcher reads (or a value given on the command line) that is not what it must be. */
export class SpecFailure extends Failure {
  readonly code = "NMR_BAD_SPEC";

  constructor(
    readonly document: SpecDocument,
    /** What is wrong, naming the field: "spec.source.repo must be a Hub repo id ..., got \"a b\"". */
    readonly detail: string,
  ) {
    super(redact(`Invalid ${document.title}: ${detail}`));
    this.name = "SpecFailure";
  }
}

/**
 * A file the engine could not download, and why (`failure`): the engine's one way of
 * failing a file, so the message can name the file and where it came from.
 */
export class DownloadFailure extends Failure {
  readonly code: FailureCode;

  constructor(
    /** The file's path in the model. */
    readonly file: string,
    /** Where its bytes came from (ByteSource.description), safe to print. */
    readonly from: string,
    /** How many times it was downloaded: 2 after a digest mismatch. */
    readonly downloads: number,
    readonly failure: Failure,
  ) {
    super(`${file}: ${failure.message}${downloads > 1 ? ` (downloaded ${downloads} times)` : ""}`, {
      cause: failure,
    });
    this.name = "DownloadFailure";
    this.code = failure.code;
  }
}
