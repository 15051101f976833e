/**
 * Errors raised by the format readers. Every reader lets them propagate; the dispatcher turns
 * them into findings (a hostile file must never surface as an unhandled exception).
 */
export class ScanError extends Error {
  /** Byte offset where the problem was seen, relative to the reader's input. */
  readonly offset: number | undefined;

  constructor(message: string, offset?: number) {
    super(message);
    this.name = new.target.name;
    this.offset = offset;
  }
}

/** The input is malformed: truncated, out of range, an unknown tag. */
export class MalformedError extends ScanError {}

/** The input asks for more than a configured cap allows; the rest of it is unverified. */
export class LimitError extends ScanError {
  readonly limit: string;

  constructor(limit: string, message: string, offset?: number) {
    super(message, offset);
    this.limit = limit;
  }
}
