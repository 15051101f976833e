import { displayUrl, redact } from "../util/secrets.js";
import { DiskFailure, Failure, TransferFailure } from "./failures.js";

/**
 * Anything thrown while sending a request or reading a body, as a TransferFailure the
 * retry policy understands: Node system errors and undici errors are retryable or not
 * by their code; errors without a code (programming errors) are not retried.
 */

/** Network failures that a new connection can fix. */
const RETRYABLE_ERROR_CODES: ReadonlySet<string> = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_RES_CONTENT_LENGTH_MISMATCH",
  "ERR_STREAM_PREMATURE_CLOSE",
  // A compressed body cut short by a dropped connection.
  "Z_BUF_ERROR",
]);

/** TLS verification failures: never retried, never worked around; the fix is a CA bundle. */
const TLS_ERROR_CODES: ReadonlySet<string> = new Set([
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** The error code of a Node system error or undici error, looking through `cause` (and past our own failures). */
export function errorCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && !(current instanceof Failure)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Whether `error` or one of its causes has this class name (undici's errors, without importing undici here). */
function errorNamed(error: unknown, name: string): boolean {
  for (let current: unknown = error, depth = 0; current && depth < 5; depth++) {
    if ((current as { name?: unknown }).name === name) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

export function failureFromError(error: unknown, url: URL | string | undefined): TransferFailure {
  if (error instanceof TransferFailure) return error;
  const code = errorCode(error);
  const shown = url === undefined ? undefined : displayUrl(url);
  const detail = error instanceof Error ? error.message : String(error);
  const where = shown === undefined ? "" : ` (${shown})`;
  if (code !== undefined && TLS_ERROR_CODES.has(code)) {
    return new TransferFailure(
      redact(
        `TLS certificate verification failed${where}: ${code}: ${detail}. ` +
          "If a proxy or private CA signs this host, point SSL_CERT_FILE or NIX_SSL_CERT_FILE at a CA bundle that includes it",
      ),
      { retryable: false, code: "NMR_TLS", cause: error, ...(shown === undefined ? {} : { url: shown }) },
    );
  }
  const text = code !== undefined && !detail.includes(code) ? `${code}: ${detail}` : detail;
  // undici's HTTPParserError (llhttp's HPE_* codes, or none): bytes that are not an HTTP
  // answer. One garbled answer is retried like a reset; a server that only sends garbage
  // fails after the retries.
  if (code?.startsWith("HPE_") || errorNamed(error, "HTTPParserError")) {
    return new TransferFailure(redact(`the server's answer is not valid HTTP (${text})${where}`), {
      retryable: true,
      code: "NMR_BAD_RESPONSE",
      cause: error,
      ...(shown === undefined ? {} : { url: shown }),
    });
  }
  // undici refuses to send a header or URL it finds invalid; ours are checked, so such a
  // value came from a server's answer (a Git LFS action header, an ETag sent back as If-Match).
  if (code === "UND_ERR_INVALID_ARG") {
    return new TransferFailure(
      redact(`cannot send the request: ${detail}, a value taken from the server's answer${where}`),
      {
        retryable: false,
        code: "NMR_BAD_RESPONSE",
        cause: error,
        ...(shown === undefined ? {} : { url: shown }),
      },
    );
  }
  return new TransferFailure(redact(`${text}${where}`), {
    retryable: code !== undefined && RETRYABLE_ERROR_CODES.has(code),
    cause: error,
    ...(shown === undefined ? {} : { url: shown }),
  });
}

/** System errors of writing files: the disk's or the permissions' fault, not the network's. */
const DISK_ERROR_CODES: ReadonlySet<string> = new Set([
  "ENOSPC",
  "EDQUOT",
  "EACCES",
  "EPERM",
  "EROFS",
  "EIO",
  "EMFILE",
  "ENFILE",
  "ENOTDIR",
  "EISDIR",
  "ENAMETOOLONG",
]);

/**
 * A Node system error, whatever call made it: its code is an errno name (ENOSPC, EACCES...).
 * Errors of calls on a descriptor (write, read) carry no path; the caller names the file.
 */
export function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return error instanceof Error && typeof code === "string" && /^E[A-Z]+$/.test(code);
}

/** A file system error (it has a path and a disk error code) as a DiskFailure; undefined for anything else. */
export function diskFailureFrom(error: unknown): DiskFailure | undefined {
  if (error instanceof DiskFailure) return error;
  const system = error as NodeJS.ErrnoException | undefined;
  if (!(error instanceof Error) || typeof system?.path !== "string" || !DISK_ERROR_CODES.has(system.code ?? "")) {
    return undefined;
  }
  return new DiskFailure(system.path, system);
}
