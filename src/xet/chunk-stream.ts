import {
  CHUNK_HEADER_BYTES,
  type ChunkHeader,
  CompressionScheme,
  decodeChunkPayload,
  parseChunkHeader,
} from "./chunk-format.js";
import { type ChunkPool, UNPOOLED } from "./chunk-pool.js";
import { XetFormatError } from "./errors.js";

/**
 * Splits the bytes of one fetched xorb range into its chunks and decodes them, piece by piece
 * as they arrive: at most one chunk's compressed bytes (≤ 256 KiB + header) are held back
 * between pieces, so a range is never buffered whole. The range must hold exactly the chunks
 * `[firstIndex, endIndex)`: a short, long or ragged range is an error.
 *
 * Each byte is copied once on its way to a decoded chunk. A chunk that straddles pieces is
 * gathered into a buffer of its own, made when its header is known; a stored (uncompressed)
 * chunk is then that buffer, not a second copy. One inside a piece is copied out of it, so a
 * kept chunk never pins the piece (whose other bytes may be chunks nobody keeps). Over 1 GiB
 * of stored chunks, gathering by concatenation and then copying took 0.35 s of CPU in a
 * profile (0.22 + 0.13 s; docs/bench.md, "Sixth round").
 *
 * Decoded chunks, and the buffers chunks are gathered in, come from `pool`: the one who reads
 * a decoded chunk last gives it back (src/xet/assembler.ts); a gathering buffer the decoder
 * gives back itself, once the chunk it held is decoded into another.
 */

export interface DecodedChunk {
  /** The chunk's index within its xorb. */
  readonly index: number;
  readonly data: Uint8Array;
}

/** A chunk whose header is known and whose payload is still arriving. */
interface Gathering {
  readonly header: ChunkHeader;
  readonly payload: Uint8Array;
  filled: number;
}

export class ChunkStreamDecoder {
  /** The first bytes of a header cut by the end of a piece. */
  readonly #headerBytes = new Uint8Array(CHUNK_HEADER_BYTES);
  #headerFilled = 0;
  #gathering: Gathering | undefined;
  private nextIndex: number;

  constructor(
    /** Names the range in messages: "xorb 1a2b… bytes 0-4095". */
    private readonly label: string,
    firstIndex: number,
    private readonly endIndex: number,
    private readonly pool: ChunkPool = UNPOOLED,
  ) {
    this.nextIndex = firstIndex;
  }

  push(piece: Uint8Array): DecodedChunk[] {
    const decoded: DecodedChunk[] = [];
    let offset = 0;
    while (offset < piece.length) {
      const gathering = this.#gathering;
      if (gathering !== undefined) {
        const count = Math.min(gathering.payload.length - gathering.filled, piece.length - offset);
        gathering.payload.set(piece.subarray(offset, offset + count), gathering.filled);
        gathering.filled += count;
        offset += count;
        if (gathering.filled === gathering.payload.length) {
          this.#gathering = undefined;
          decoded.push(this.#decode(gathering.header, gathering.payload, true));
        }
        continue;
      }
      this.#expectAnotherChunk();
      let header: ChunkHeader;
      if (this.#headerFilled > 0 || piece.length - offset < CHUNK_HEADER_BYTES) {
        const count = Math.min(CHUNK_HEADER_BYTES - this.#headerFilled, piece.length - offset);
        this.#headerBytes.set(piece.subarray(offset, offset + count), this.#headerFilled);
        this.#headerFilled += count;
        offset += count;
        if (this.#headerFilled < CHUNK_HEADER_BYTES) break;
        this.#headerFilled = 0;
        header = parseChunkHeader(this.#headerBytes, this.#at());
      } else {
        header = parseChunkHeader(piece.subarray(offset, offset + CHUNK_HEADER_BYTES), this.#at());
        offset += CHUNK_HEADER_BYTES;
      }
      const end = offset + header.compressedSize;
      if (end <= piece.length) {
        decoded.push(this.#decode(header, piece.subarray(offset, end), false));
        offset = end;
      } else {
        // Decoded once every byte has arrived; a range cut short throws it away.
        this.#gathering = { header, payload: this.pool.take(header.compressedSize), filled: 0 };
      }
    }
    return decoded;
  }

  /** `owned`: the payload is a buffer of the decoder's own, which a stored chunk may keep. */
  #decode(header: ChunkHeader, payload: Uint8Array, owned: boolean): DecodedChunk {
    if (header.scheme === CompressionScheme.None && owned) return { index: this.nextIndex++, data: payload };
    let data: Uint8Array;
    try {
      // decodeChunkPayload copies a stored payload, which is right for one inside a piece.
      data = decodeChunkPayload(header, payload, this.pool);
    } catch (error) {
      if (error instanceof XetFormatError) throw new XetFormatError(error.code, `${this.#at()}: ${error.message}`);
      throw error;
    }
    if (owned) this.pool.give(payload);
    return { index: this.nextIndex++, data };
  }

  #at(): string {
    return `${this.label}, chunk ${this.nextIndex}`;
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
    const heldBack = this.#headerFilled + (this.#gathering ? CHUNK_HEADER_BYTES + this.#gathering.filled : 0);
    if (heldBack > 0) {
      throw new XetFormatError(
        "chunk-stream",
        `${this.label}: the data ends inside chunk ${this.nextIndex} (${heldBack} bytes of it)`,
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
