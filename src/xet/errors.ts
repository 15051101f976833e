/**
 * What went wrong with Xet data from a server, by stable code (match on `code`, never on the
 * message). The message says what was wrong in the server's data; the caller adds which file
 * it was fetching.
 */
export type XetErrorCode =
  /** A chunk header: version, scheme, or sizes out of bounds. */
  | "chunk-header"
  /** An LZ4 frame or block that is malformed or decodes to a length other than declared. */
  | "lz4"
  /** A fetched range whose bytes do not split into the chunks it should hold. */
  | "chunk-stream"
  /** A term whose decoded chunks add up to a length other than its `unpacked_length`. */
  | "term-length"
  /** A reconstruction reply that is not what the protocol allows (types, bounds, coverage, total). */
  | "reconstruction";

export class XetFormatError extends Error {
  constructor(
    readonly code: XetErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "XetFormatError";
  }
}
