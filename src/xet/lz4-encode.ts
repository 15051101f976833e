import { xxhash32 } from "./xxhash32.js";

/**
 * An LZ4 frame encoder for the server side (`serve` writes xorbs): independent 64 KiB blocks,
 * no checksums beyond the mandatory header byte, as lz4_flex's FrameEncoder writes for
 * xet-core. The block compressor is LZ4's greedy "fast" scheme (one hash-table probe per
 * position, striding further the longer nothing matches, so noise costs little): it compresses
 * less than the reference library, which does not matter for a test server, and it obeys the
 * format's end-of-block rules, so lz4 itself decodes it.
 */

const FRAME_MAGIC = [0x04, 0x22, 0x4d, 0x18];
const FLAGS = 0x60; // version 01, independent blocks, no checksums, no content size
const BLOCK_DESCRIPTOR = 0x40; // 64 KiB maximum block size
const BLOCK_SIZE = 64 << 10;
const MIN_MATCH = 4;
/** The last match must start at least 12 bytes before the end of a block… */
const MATCH_START_MARGIN = 12;
/** …and the last 5 bytes are always literals. */
const LAST_LITERALS = 5;
const MAX_DISTANCE = 65535;
const HASH_BITS = 14;

function read32(data: Uint8Array, at: number): number {
  return (data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16) | (data[at + 3]! << 24)) >>> 0;
}

class Output {
  bytes: Uint8Array;
  length = 0;
  constructor(capacity: number) {
    this.bytes = new Uint8Array(capacity);
  }
  byte(value: number): void {
    this.bytes[this.length++] = value;
  }
  /** The extra bytes of a length whose 4-bit field is saturated. */
  extendedLength(value: number): void {
    let rest = value - 15;
    for (; rest >= 255; rest -= 255) this.byte(255);
    this.byte(rest);
  }
  copy(source: Uint8Array, start: number, end: number): void {
    this.bytes.set(source.subarray(start, end), this.length);
    this.length += end - start;
  }
}

function emitSequence(
  out: Output,
  source: Uint8Array,
  literalStart: number,
  literalEnd: number,
  match?: { distance: number; length: number },
): void {
  const literals = literalEnd - literalStart;
  const matchCode = match ? match.length - MIN_MATCH : 0;
  out.byte((Math.min(literals, 15) << 4) | Math.min(matchCode, 15));
  if (literals >= 15) out.extendedLength(literals);
  out.copy(source, literalStart, literalEnd);
  if (!match) return;
  out.byte(match.distance & 0xff);
  out.byte(match.distance >>> 8);
  if (matchCode >= 15) out.extendedLength(matchCode);
}

/** Compresses one block; the result may be larger than the input (the caller then stores it raw). */
export function compressLz4Block(source: Uint8Array): Uint8Array {
  const out = new Output(source.length + Math.ceil(source.length / 255) + 16);
  const table = new Int32Array(1 << HASH_BITS).fill(-1);
  const lastMatchStart = source.length - MATCH_START_MARGIN;
  const matchLimit = source.length - LAST_LITERALS;
  let anchor = 0;
  let position = 0;
  let misses = 0;
  while (position <= lastMatchStart) {
    const sequence = read32(source, position);
    const slot = Math.imul(sequence, 2654435761) >>> (32 - HASH_BITS);
    const candidate = table[slot]!;
    table[slot] = position;
    if (candidate >= 0 && position - candidate <= MAX_DISTANCE && read32(source, candidate) === sequence) {
      let length = MIN_MATCH;
      while (position + length < matchLimit && source[candidate + length] === source[position + length]) length++;
      emitSequence(out, source, anchor, position, { distance: position - candidate, length });
      position += length;
      anchor = position;
      misses = 0;
    } else {
      // LZ4's acceleration: after 64 misses in a row, step 2 bytes, after 128 step 3…
      position += 1 + (misses++ >> 6);
    }
  }
  emitSequence(out, source, anchor, source.length);
  return out.bytes.subarray(0, out.length);
}

/** One LZ4 frame holding `data`. */
export function encodeLz4Frame(data: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  const descriptor = Uint8Array.of(FLAGS, BLOCK_DESCRIPTOR);
  parts.push(Uint8Array.from(FRAME_MAGIC), descriptor, Uint8Array.of((xxhash32(descriptor) >>> 8) & 0xff));
  for (let start = 0; start < data.length; start += BLOCK_SIZE) {
    const block = data.subarray(start, Math.min(data.length, start + BLOCK_SIZE));
    const compressed = compressLz4Block(block);
    const stored = compressed.length < block.length ? compressed : block;
    const size = new Uint8Array(4);
    new DataView(size.buffer).setUint32(0, stored === block ? (block.length | 0x80000000) >>> 0 : stored.length, true);
    parts.push(size, stored);
  }
  parts.push(new Uint8Array(4)); // end mark
  const frame = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    frame.set(part, offset);
    offset += part.length;
  }
  return frame;
}
