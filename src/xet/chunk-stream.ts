import { CHUNK_HEADER_BYTES, decodeChunkPayload, parseChunkHeader } from "./chunk-format.js";
import { XetFormatError } from "./errors.js";

/**
 * Splits the bytes of one fetched xorb range into its chunks and decodes them, piece by piece
 * as they arrive: at most one chunk's compressed bytes (≤ 256 KiB + header) are held back
 * between pieces, so a range is never buffered whole. The range must hold exactly the chunks
 * `[firstIndex, endIndex)`: a short, long or ragged range is an error.
 */

export interface DecodedChunk {
  /** The chunk's index within its xorb. */
  readonly index: number;
  readonly data: Uint8Array;
}

export class ChunkStreamDecoder {
  private leftover: Uint8Array = new Uint8Array(0);
  private nextIndex: number;

  constructor(
    /** Names the range in messages: "xorb 1a2b… bytes 0-4095". */
    private readonly label: string,
    firstIndex: number,
    private readonly endIndex: number,
  ) {
    this.nextIndex = firstIndex;
  }

  push(piece: Uint8Array): DecodedChunk[] {
    const decoded: DecodedChunk[] = [];
    let data = piece;
    if (this.leftover.length > 0) {
      // Complete the chunk that straddles the pieces from the head of this one, then go on in
      // the piece itself: only the straddling chunk is copied, not every piece.
      const needed = this.#straddlingLength(piece);
      if (needed === undefined || this.leftover.length + piece.length < needed) {
        this.leftover = concat(this.leftover, piece);
        return decoded;
      }
      const taken = needed - this.leftover.length;
      const chunk = concat(this.leftover, piece.subarray(0, taken));
      this.leftover = new Uint8Array(0);
      this.#decode(chunk, decoded);
      data = piece.subarray(taken);
    }
    this.#decode(data, decoded);
    return decoded;
  }

  /** Bytes of the chunk that starts the leftover, once its header is complete. */
  #straddlingLength(piece: Uint8Array): number | undefined {
    if (this.leftover.length + piece.length < CHUNK_HEADER_BYTES) return undefined;
    this.#expectAnotherChunk();
    const header =
      this.leftover.length >= CHUNK_HEADER_BYTES
        ? this.leftover.subarray(0, CHUNK_HEADER_BYTES)
        : concat(this.leftover, piece.subarray(0, CHUNK_HEADER_BYTES - this.leftover.length));
    return CHUNK_HEADER_BYTES + parseChunkHeader(header, `${this.label}, chunk ${this.nextIndex}`).compressedSize;
  }

  /** Decodes the whole chunks at the start of `data`; keeps the rest as the leftover. */
  #decode(data: Uint8Array, decoded: DecodedChunk[]): void {
    let offset = 0;
    while (data.length - offset >= CHUNK_HEADER_BYTES) {
      this.#expectAnotherChunk();
      const at = `${this.label}, chunk ${this.nextIndex}`;
      const header = parseChunkHeader(data.subarray(offset, offset + CHUNK_HEADER_BYTES), at);
      const end = offset + CHUNK_HEADER_BYTES + header.compressedSize;
      if (end > data.length) break;
      let chunk: Uint8Array;
      try {
        chunk = decodeChunkPayload(header, data.subarray(offset + CHUNK_HEADER_BYTES, end));
      } catch (error) {
        if (error instanceof XetFormatError) throw new XetFormatError(error.code, `${at}: ${error.message}`);
        throw error;
      }
      decoded.push({ index: this.nextIndex++, data: chunk });
      offset = end;
    }
    this.leftover = data.slice(offset);
  }

  #expectAnotherChunk(): void {
    if (this.nextIndex >= this.endIndex) {
      throw new XetFormatError(
        "chunk-stream",
        `${this.label}: more data after the last expected chunk (${this.endIndex - 1})`,
      );
    }
  }

  /** Call when the range's bytes have all arrived. */
  finish(): void {
    if (this.leftover.length > 0) {
      this.#expectAnotherChunk();
      throw new XetFormatError(
        "chunk-stream",
        `${this.label}: the data ends inside chunk ${this.nextIndex} (${this.leftover.length} bytes of it)`,
      );
    }
    if (this.nextIndex !== this.endIndex) {
      throw new XetFormatError(
        "chunk-stream",
        `${this.label}: the data holds chunks up to ${this.nextIndex - 1}, but chunks up to ${this.endIndex - 1} were expected`,
      );
    }
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}
