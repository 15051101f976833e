/**
 * Why a JSON document was refused. The codes are stable (callers map them to their own errors
 * and exit statuses); the message says what and where, and never echoes more than one character
 * of the input, so a hostile body cannot flood a log or drive a terminal.
 */
export type JsonErrorCode =
  /** Not JSON: a syntax error, bad escape, invalid UTF-8 (where refused), or an empty body. */
  | "JSON_INVALID"
  /** Arrays and objects nested deeper than maxDepth. */
  | "JSON_TOO_DEEP"
  /** More bytes, a longer string or number, or more values than the caller allows. */
  | "JSON_TOO_LARGE";

export class JsonError extends Error {
  readonly code: JsonErrorCode;
  /** Byte offset in the input where the problem was seen. */
  readonly position: number;

  constructor(code: JsonErrorCode, message: string, position: number) {
    super(`${message} at byte ${position}`);
    this.name = "JsonError";
    this.code = code;
    this.position = position;
  }
}

/** One input byte, described for a message without passing anything unprintable through. */
export function describeByte(byte: number | undefined): string {
  if (byte === undefined) return "the end of the input";
  if (byte >= 0x21 && byte <= 0x7e) return `'${String.fromCharCode(byte)}'`;
  return `byte 0x${byte.toString(16).padStart(2, "0")}`;
}
