import { XetFormatError } from "./errors.js";
import { type ChunkPool, UNPOOLED } from "./chunk-pool.js";
import { decodeBlockWasm } from "./lz4-wasm.js";
import { xxhash32 } from "./xxhash32.js";

/**
 * A decoder for the LZ4 frame format (lz4 doc/lz4_Frame_format.md), which Xet chunks are
 * compressed with (xet-core uses lz4_flex's FrameEncoder). Its output is bounded by the size
 * the chunk header declares: it writes into a buffer of exactly that size and fails the moment
 * the data would go past it, so a decompression bomb or a lying header costs at most the
 * declared size (≤ 128 KiB for Xet), never more.
 *
 * The frame is read here because no maintained npm package fits: lz4js (unmaintained since
 * 2017) writes past its output silently (typed arrays drop out-of-range writes), node-lz4 and
 * lz4-napi are native addons that do not bundle into the fetcher's single script, and the wasm
 * ports speak the block format only. Blocks go to one of those, lz4_flex's (lz4-wasm.ts), 2-3x
 * as fast; the block decoder below takes the blocks it refuses (to say why) and linked blocks.
 */

const FRAME_MAGIC = 0x184d2204;
const BLOCK_MAX_SIZES: Readonly<Record<number, number>> = { 4: 64 << 10, 5: 256 << 10, 6: 1 << 20, 7: 4 << 20 };
const MIN_MATCH = 4;

const fail = (message: string): never => {
  throw new XetFormatError("lz4", message);
};

class Reader {
  offset = 0;
  constructor(private readonly data: Uint8Array) {}

  need(count: number, what: string): void {
    if (this.offset + count > this.data.length) fail(`LZ4 frame ends inside its ${what}`);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.data[this.offset++]!;
  }

  u32(what: string): number {
    this.need(4, what);
    const at = this.offset;
    this.offset += 4;
    return (this.data[at]! | (this.data[at + 1]! << 8) | (this.data[at + 2]! << 16) | (this.data[at + 3]! << 24)) >>> 0;
  }

  bytes(count: number, what: string): Uint8Array {
    this.need(count, what);
    const slice = this.data.subarray(this.offset, this.offset + count);
    this.offset += count;
    return slice;
  }
}

/**
 * Runs of at most this many bytes are copied one by one: a `subarray` for `set` or a call of
 * `copyWithin` costs more than the loop, and in byte-grouped floats (Xet's BG4 scheme) most
 * literals and matches are a few bytes long. Decoding such chunks with `set` for every
 * literal run went at ~130 MB/s, the allocations most of it (docs/bench.md, "Sixth round").
 */
const SHORT_RUN = 32;

/** Decodes one LZ4 block into `output` at `position`; returns the new position. */
function decodeBlock(block: Uint8Array, output: Uint8Array, position: number): number {
  const end = block.length;
  const limit = output.length;
  let input = 0;
  let out = position;
  // Lengths are read inline, not by a helper: a closure over `input` would keep it in a
  // context slot instead of a register, in the loop every byte goes through.
  while (true) {
    if (input >= end) fail("LZ4 block ends where a sequence should start");
    const token = block[input++]!;
    let literals = token >>> 4;
    if (literals === 15) {
      let byte: number;
      do {
        if (input >= end) fail("LZ4 block ends inside a literal length");
        byte = block[input++]!;
        literals += byte;
      } while (byte === 255);
    }
    if (input + literals > end) fail("LZ4 block ends inside its literals");
    if (out + literals > limit) overflow(limit);
    if (literals > SHORT_RUN) {
      output.set(block.subarray(input, input + literals), out);
      input += literals;
      out += literals;
    } else {
      for (const stop = input + literals; input < stop; ) output[out++] = block[input++]!;
    }
    if (input === end) return out; // the last sequence has literals only
    if (input + 2 > end) fail("LZ4 block ends inside a match offset");
    const distance = block[input]! | (block[input + 1]! << 8);
    input += 2;
    if (distance === 0 || distance > out) fail(`LZ4 match refers ${distance} bytes back, before the start of the data`);
    let matchLength = token & 15;
    if (matchLength === 15) {
      let byte: number;
      do {
        if (input >= end) fail("LZ4 block ends inside a match length");
        byte = block[input++]!;
        matchLength += byte;
      } while (byte === 255);
    }
    matchLength += MIN_MATCH;
    if (out + matchLength > limit) overflow(limit);
    let from = out - distance;
    if (matchLength > SHORT_RUN && distance >= matchLength) {
      output.copyWithin(out, from, from + matchLength); // no overlap: a plain copy
      out += matchLength;
    } else if (matchLength > SHORT_RUN && distance === 1) {
      output.fill(output[from]!, out, out + matchLength); // a run of one byte
      out += matchLength;
    } else {
      // Byte by byte: a match may overlap the bytes it produces (a run).
      for (const stop = out + matchLength; out < stop; ) output[out++] = output[from++]!;
    }
  }
}

const overflow = (limit: number): never =>
  fail(`LZ4 data decodes to more than the ${limit} bytes the chunk header declares`);

/**
 * Decodes one LZ4 frame that must produce exactly `expectedSize` bytes, into a buffer from
 * `pool` (the caller gives it back). Checks the header checksum, block and content checksums
 * when present, the frame's own content size when present, and that nothing follows the frame.
 */
export function decodeLz4Frame(frame: Uint8Array, expectedSize: number, pool: ChunkPool = UNPOOLED): Uint8Array {
  const reader = new Reader(frame);
  if (reader.u32("magic number") !== FRAME_MAGIC) fail("not an LZ4 frame (wrong magic number)");
  const descriptorStart = reader.offset;
  const flags = reader.u8("descriptor");
  const blockDescriptor = reader.u8("descriptor");
  if (flags >>> 6 !== 1) fail(`unsupported LZ4 frame version ${flags >>> 6}`);
  if ((flags & 0x02) !== 0 || (blockDescriptor & 0x8f) !== 0) fail("LZ4 frame descriptor sets reserved bits");
  const blockChecksums = (flags & 0x10) !== 0;
  // Linked blocks (lz4 -BD; never Xet's) may copy from the block before, which only the
  // JavaScript decoder, writing every block into the one output, can follow.
  const independentBlocks = (flags & 0x20) !== 0;
  const hasContentSize = (flags & 0x08) !== 0;
  const contentChecksum = (flags & 0x04) !== 0;
  if ((flags & 0x01) !== 0) fail("LZ4 frame needs a dictionary, which Xet never uses");
  const blockMaxSize = BLOCK_MAX_SIZES[(blockDescriptor >>> 4) & 7];
  if (blockMaxSize === undefined) fail("LZ4 frame declares an invalid block maximum size");
  if (hasContentSize) {
    const low = reader.u32("content size");
    const high = reader.u32("content size");
    if (high !== 0 || low !== expectedSize) {
      fail(`LZ4 frame declares ${high * 2 ** 32 + low} bytes of content, the chunk header ${expectedSize}`);
    }
  }
  const descriptor = frame.subarray(descriptorStart, reader.offset);
  if (reader.u8("header checksum") !== ((xxhash32(descriptor) >>> 8) & 0xff))
    fail("LZ4 frame header checksum mismatch");

  const output = pool.take(expectedSize); // only returned once every byte is written
  let position = 0;
  while (true) {
    const header = reader.u32("block size");
    if (header === 0) break; // end mark
    const size = header & 0x7fffffff;
    if (size > blockMaxSize!) fail(`LZ4 block of ${size} bytes exceeds the frame's ${blockMaxSize} byte maximum`);
    const data = reader.bytes(size, "block");
    if (blockChecksums && reader.u32("block checksum") !== xxhash32(data)) fail("LZ4 block checksum mismatch");
    if ((header & 0x80000000) !== 0) {
      if (position + size > output.length) {
        fail(`LZ4 data decodes to more than the ${output.length} bytes the chunk header declares`);
      }
      output.set(data, position);
      position += size;
    } else {
      // Every block but the last is full (lz4_flex's and lz4's encoders fill them): lz4_flex
      // needs the exact size, and a block that is not is decoded in JavaScript after all.
      const size = Math.min(blockMaxSize!, output.length - position);
      if (independentBlocks && decodeBlockWasm(data, size, output, position)) position += size;
      else position = decodeBlock(data, output, position);
    }
  }
  if (contentChecksum && reader.u32("content checksum") !== xxhash32(output.subarray(0, position))) {
    fail("LZ4 content checksum mismatch");
  }
  if (reader.offset !== frame.length) fail(`${frame.length - reader.offset} stray bytes after the LZ4 frame`);
  if (position !== expectedSize) {
    fail(`LZ4 data decodes to ${position} bytes, but the chunk header declares ${expectedSize}`);
  }
  return output;
}
