import { RETRYABLE_STATUSES } from "../../http/failure.js";
import { failureFromError } from "../../errors/classify.js";
import { TransferFailure } from "../../errors/failures.js";
import { redact } from "../../util/secrets.js";

/**
 * SDK errors as the TransferFailures the retry policy and the engine understand. An
 * S3 service error carries the HTTP status and S3's error code (NoSuchKey, SlowDown,
 * AccessDenied...); anything else came from the connection and is classified by its
 * system error code like any other request.
 */
const RETRYABLE_S3_CODES: ReadonlySet<string> = new Set([
  "SlowDown",
  "RequestTimeout",
  "InternalError",
  "ServiceUnavailable",
  "RequestTimeTooSkewed",
]);

interface ServiceErrorShape {
  readonly name: string;
  readonly message: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

export function s3Failure(error: unknown, target: string): TransferFailure {
  if (error instanceof TransferFailure) return error;
  const status = serviceStatus(error);
  if (status === undefined) return failureFromError(error, target);
  const { name, message } = error as ServiceErrorShape;
  // The SDK names unmodelled errors after the status ("Unknown", "403"): only S3's own codes are worth printing.
  const code = /^[A-Z][A-Za-z]+$/.test(name) && name !== "Unknown" ? name : undefined;
  const detail = message && message !== name && message !== "UnknownError" ? message : undefined;
  const explanation = [code, detail].filter(Boolean).join(": ");
  return new S3Failure(redact(`HTTP ${status} from ${target}${explanation ? ` (${explanation})` : ""}`), code, {
    retryable: RETRYABLE_STATUSES.has(status) || (code !== undefined && RETRYABLE_S3_CODES.has(code)),
    status,
    url: target,
    cause: error,
    ...(detail === undefined ? {} : { serverMessage: redact(detail) }),
  });
}

/** A failed S3 request, with S3's error code (NoSuchBucket, AccessDenied...) when it gave one. */
export class S3Failure extends TransferFailure {
  constructor(
    message: string,
    readonly s3Code: string | undefined,
    options: ConstructorParameters<typeof TransferFailure>[1],
  ) {
    super(message, options);
    this.name = "S3Failure";
  }
}

function serviceStatus(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const status = (error as ServiceErrorShape).$metadata?.httpStatusCode;
  return typeof status === "number" && status > 0 ? status : undefined;
}
