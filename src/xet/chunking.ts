import { GEAR_HIGH, GEAR_LOW } from "./gear-table.js";

/**
 * Xet's content-defined chunking (xet-core spec/chunking.md): a GEAR rolling hash
 * `h = (h << 1) + TABLE[byte]` (64-bit, wrapping) cuts a chunk where the top 16 bits of `h`
 * are zero, never before 8 KiB and always at 128 KiB, so chunks average 64 KiB and the same
 * content always cuts at the same places, whichever file it is in.
 *
 * The hash only depends on the last 64 bytes (each byte is shifted out after 64 steps), so,
 * like xet-core, hashing starts 65 bytes before the minimum size: the cuts are the same as
 * hashing every byte, for an eighth of the work.
 */

export const MIN_CHUNK_SIZE = 8 * 1024;
export const MAX_CHUNK_SIZE = 128 * 1024;
/** A cut needs the 16 most significant bits of h to be zero: mask 0xffff000000000000. */
const HIGH_MASK = 0xffff0000;
const HASH_WINDOW = 64;
const FIRST_HASHED_OFFSET = MIN_CHUNK_SIZE - HASH_WINDOW - 1;

/**
 * Feed bytes with `update`, in pieces of any size; it returns the chunks completed so far
 * (views into `data` where a chunk lies within one piece, copies otherwise). `finish` returns
 * the last, possibly short, chunk. The chunks are the same however the input is split.
 */
export class Chunker {
  private pending: Uint8Array[] = [];
  private pendingLength = 0;
  private high = 0;
  private low = 0;

  update(data: Uint8Array): Uint8Array[] {
    const chunks: Uint8Array[] = [];
    let start = 0; // where the current chunk's bytes begin within `data`
    let index = 0;
    while (index < data.length) {
      // The data index at which the current chunk reaches the given size.
      const indexAtSize = (size: number) => start + size - 1 - this.pendingLength;
      index = Math.max(index, indexAtSize(FIRST_HASHED_OFFSET + 1));
      if (index >= data.length) break;
      const minIndex = indexAtSize(MIN_CHUNK_SIZE);
      const maxIndex = indexAtSize(MAX_CHUNK_SIZE);
      const last = Math.min(data.length - 1, maxIndex);
      let high = this.high;
      let low = this.low;
      let cut = -1;
      for (; index <= last; index++) {
        const byte = data[index]!;
        const shiftedLow = (low << 1) >>> 0;
        const sumLow = shiftedLow + GEAR_LOW[byte]!;
        high = (((high << 1) | (low >>> 31)) + GEAR_HIGH[byte]! + (sumLow > 0xffffffff ? 1 : 0)) >>> 0;
        low = sumLow >>> 0;
        if (index >= minIndex && (high & HIGH_MASK) === 0) {
          cut = index + 1;
          break;
        }
      }
      if (cut === -1 && index > maxIndex) cut = maxIndex + 1;
      if (cut === -1) {
        this.high = high;
        this.low = low;
        break;
      }
      chunks.push(this.take(data.subarray(start, cut)));
      start = cut;
      index = cut;
    }
    if (start < data.length) {
      this.pending.push(data.slice(start));
      this.pendingLength += data.length - start;
    }
    return chunks;
  }

  /** The final chunk (shorter than the minimum, or cut by the end of the input), if any. */
  finish(): Uint8Array | undefined {
    if (this.pendingLength === 0) return undefined;
    return this.take(new Uint8Array(0));
  }

  private take(tail: Uint8Array): Uint8Array {
    let chunk = tail;
    if (this.pendingLength > 0) {
      chunk = new Uint8Array(this.pendingLength + tail.length);
      let offset = 0;
      for (const piece of this.pending) {
        chunk.set(piece, offset);
        offset += piece.length;
      }
      chunk.set(tail, offset);
    }
    this.pending = [];
    this.pendingLength = 0;
    this.high = 0;
    this.low = 0;
    return chunk;
  }
}

/** Chunks of a whole buffer (tests, small files). */
export function chunkBytes(data: Uint8Array): Uint8Array[] {
  const chunker = new Chunker();
  const chunks = chunker.update(data);
  const last = chunker.finish();
  if (last) chunks.push(last);
  return chunks;
}
