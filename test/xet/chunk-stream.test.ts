/**
 * The chunk stream decoder on its own: a range's bytes cut into pieces anywhere — inside a
 * chunk's header, inside its payload, on a boundary — decode to the same chunks, and the
 * refusals (a lying header, stray bytes after the last chunk, a cut range) hold wherever the
 * cut falls.
 */
import { describe, expect, it } from "vitest";
import { CHUNK_HEADER_BYTES, CompressionScheme } from "../../src/xet/chunk-format.js";
import { ChunkPool } from "../../src/xet/chunk-pool.js";
import { ChunkStreamDecoder, type DecodedChunk } from "../../src/xet/chunk-stream.js";
import { XetFormatError } from "../../src/xet/errors.js";
import { buildXorb, sampleContent } from "./xorb-fixture.js";

// Small chunks (all three schemes, raw ones included) so that every cut can be tried.
const content = sampleContent(4000, 5);
const sizes = [700, 1, 333, 900, 64];
const chunks = sizes.map((size, index) => {
  const start = sizes.slice(0, index).reduce((sum, s) => sum + s, 0);
  return content.subarray(start, start + size);
});
const xorb = buildXorb(chunks);
const schemes = xorb.offsets.slice(0, -1).map((offset) => xorb.bytes[offset + 4]);

function decodeInPieces(bytes: Uint8Array, cuts: number[], first = 0, end = chunks.length): DecodedChunk[] {
  const decoder = new ChunkStreamDecoder("xorb x bytes 0-9", first, end);
  const decoded: DecodedChunk[] = [];
  const bounds = [0, ...cuts, bytes.length];
  for (let index = 1; index < bounds.length; index++) {
    decoded.push(...decoder.push(bytes.subarray(bounds[index - 1], bounds[index])));
  }
  decoder.finish();
  return decoded;
}

function expectChunks(decoded: DecodedChunk[], first = 0): void {
  expect(decoded.map((chunk) => chunk.index)).toEqual(chunks.slice(first).map((_, index) => first + index));
  for (const chunk of decoded) expect(Buffer.from(chunk.data).equals(Buffer.from(chunks[chunk.index]!))).toBe(true);
}

function refusal(run: () => unknown): XetFormatError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(XetFormatError);
    return error as XetFormatError;
  }
  throw new Error("the decoder accepted the range");
}

describe("decoding a range cut into pieces", () => {
  it("the fixture holds every scheme and chunks of one byte", () => {
    expect(new Set(schemes)).toEqual(
      new Set([CompressionScheme.None, CompressionScheme.LZ4, CompressionScheme.ByteGrouping4LZ4]),
    );
    expect(Math.min(...sizes)).toBe(1);
  });

  it("decodes the same chunks with one cut at every offset, inside headers included", () => {
    for (let cut = 0; cut <= xorb.bytes.length; cut++) expectChunks(decodeInPieces(xorb.bytes, [cut]));
  });

  it("decodes the same chunks with two cuts around every chunk start, the header split twice", () => {
    for (const start of xorb.offsets.slice(0, -1)) {
      for (let a = Math.max(0, start - 3); a <= start + CHUNK_HEADER_BYTES; a++) {
        for (let b = a; b <= Math.min(xorb.bytes.length, start + CHUNK_HEADER_BYTES + 3); b++) {
          expectChunks(decodeInPieces(xorb.bytes, [a, b]));
        }
      }
    }
  });

  it("decodes the same chunks from one-byte pieces and from empty pieces", () => {
    const everyByte = Array.from({ length: xorb.bytes.length - 1 }, (_, index) => index + 1);
    expectChunks(decodeInPieces(xorb.bytes, everyByte));
    expectChunks(decodeInPieces(xorb.bytes, [0, 0, 5, 5, 5, xorb.offsets[2]!, xorb.offsets[2]!]));
  });

  it("yields each chunk as soon as its last byte arrives", () => {
    const decoder = new ChunkStreamDecoder("r", 0, chunks.length);
    const end0 = xorb.offsets[1]!;
    expect(decoder.push(xorb.bytes.subarray(0, end0 - 1))).toEqual([]);
    expect(decoder.push(xorb.bytes.subarray(end0 - 1, end0 + 3)).map((chunk) => chunk.index)).toEqual([0]);
  });

  it("gives each chunk a buffer of its own, never a view of a piece", () => {
    // A kept chunk must not pin the piece it came in, whose other bytes may be chunks nobody
    // keeps; one gathered across pieces is its own buffer, whatever the scheme.
    const cuts = [[], [xorb.offsets[1]! + 100], xorb.offsets.slice(1, -1).map((offset) => offset + 3)];
    for (const cut of cuts) {
      const buffers = new Set<ArrayBufferLike>();
      for (const chunk of decodeInPieces(xorb.bytes, cut)) {
        expect(chunk.data.byteOffset).toBe(0);
        expect(chunk.data.buffer).not.toBe(xorb.bytes.buffer);
        buffers.add(chunk.data.buffer);
      }
      expect(buffers.size).toBe(chunks.length);
    }
  });

  it("decodes into the pool's buffers and gives back those it gathered compressed chunks in", () => {
    const pool = new ChunkPool(1 << 20);
    const decoder = new ChunkStreamDecoder("r", 0, chunks.length, pool);
    // One-byte pieces: every chunk is gathered, in a buffer from the pool.
    const decoded = Array.from(xorb.bytes, (_, at) => decoder.push(xorb.bytes.subarray(at, at + 1))).flat();
    decoder.finish();
    expectChunks(decoded);
    // What is lent is the decoded chunks: the gathering buffers of compressed ones came back.
    expect(pool.lentBytes).toBe(decoded.reduce((sum, chunk) => sum + chunk.data.buffer.byteLength, 0));
    for (const chunk of decoded) pool.give(chunk.data);
    expect(pool.lentBytes).toBe(0);
  });

  it("decodes a range that starts at a later chunk of the xorb", () => {
    const bytes = xorb.bytes.subarray(xorb.offsets[2]!);
    for (let cut = 0; cut <= bytes.length; cut += 7) expectChunks(decodeInPieces(bytes, [cut], 2), 2);
  });
});

describe("refusing a bad range wherever it is cut", () => {
  it("refuses a lying header split across pieces, naming the chunk", () => {
    const liar = Uint8Array.from(xorb.bytes);
    liar[xorb.offsets[3]!] = 1; // chunk 3's header version
    for (let cut = xorb.offsets[3]! - 2; cut <= xorb.offsets[3]! + CHUNK_HEADER_BYTES + 2; cut++) {
      const error = refusal(() => decodeInPieces(liar, [cut]));
      expect(error.code).toBe("chunk-header");
      expect(error.message).toMatch(/chunk 3: header version 1/);
    }
  });

  it("refuses a payload that does not decode to its declared size, split across pieces", () => {
    const liar = Uint8Array.from(xorb.bytes);
    const lz4At = xorb.offsets[schemes.lastIndexOf(CompressionScheme.LZ4)]!; // chunk 4, 64 bytes
    liar[lz4At + 5] = (liar[lz4At + 5]! - 1) & 0xff; // one byte less uncompressed than the frame holds
    for (const cut of [lz4At + 3, lz4At + CHUNK_HEADER_BYTES, lz4At + 20]) {
      expect(refusal(() => decodeInPieces(liar, [cut])).code).toBe("lz4");
    }
  });

  it("refuses stray bytes after the last chunk, however they arrive", () => {
    const stray = new Uint8Array(xorb.bytes.length + CHUNK_HEADER_BYTES);
    stray.set(xorb.bytes);
    for (let cut = xorb.bytes.length - 2; cut <= stray.length; cut++) {
      const error = refusal(() => decodeInPieces(stray, [cut]));
      expect(error.code).toBe("chunk-stream");
      expect(error.message).toMatch(/more data after the last expected chunk \(4\)/);
    }
    const fewStray = refusal(() => decodeInPieces(stray.subarray(0, xorb.bytes.length + 3), [xorb.bytes.length]));
    expect(fewStray.message).toMatch(/more data after the last expected chunk \(4\)/);
  });

  it("refuses a range cut short inside a header or a payload", () => {
    for (const end of [xorb.offsets[2]! + 3, xorb.offsets[2]! + CHUNK_HEADER_BYTES + 1]) {
      const error = refusal(() => decodeInPieces(xorb.bytes.subarray(0, end), [xorb.offsets[2]! + 1]));
      expect(error.code).toBe("chunk-stream");
      expect(error.message).toMatch(/the data ends inside chunk 2/);
    }
  });
});
