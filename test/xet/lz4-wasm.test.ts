/**
 * lz4_flex's WebAssembly block decoder (src/xet/lz4-wasm.ts) on its own: it decodes what our
 * encoder writes into the place it is given, and for anything it refuses — a size other than
 * the block's, a match before the start, garbage — it returns false without throwing, writes
 * nothing outside its place, and stays usable for the next block. decodeLz4Frame then decodes
 * the refused block in JavaScript to say why (test/xet/lz4.test.ts).
 */
import { describe, expect, it } from "vitest";
import { splitBytePlanes } from "../../src/xet/byte-grouping.js";
import { encodeLz4Frame } from "../../src/xet/lz4-encode.js";
import { decodeBlockWasm } from "../../src/xet/lz4-wasm.js";
import { pseudoRandomBytes } from "../helpers/hub-fixture.js";

/** The first block of one of our frames (magic, FLG, BD, header checksum: 7 bytes; no content size). */
function firstBlock(frame: Uint8Array): { readonly block: Uint8Array; readonly compressed: boolean } {
  const header = new DataView(frame.buffer, frame.byteOffset).getUint32(7, true);
  const size = header & 0x7fffffff;
  return { block: frame.subarray(11, 11 + size), compressed: (header & 0x80000000) === 0 };
}

const noise = pseudoRandomBytes(40_000, 21);
const weights = splitBytePlanes(
  Uint8Array.from(noise, (byte, index) => (index % 2 === 0 ? byte : 0x3c + (byte % 3) + (byte >> 7) * 0x80)),
);
const { block, compressed } = firstBlock(encodeLz4Frame(weights));

describe("lz4_flex's WebAssembly block decoder", () => {
  const size = weights.length;

  it("decodes a block into the place it is given", () => {
    expect(compressed).toBe(true);
    const output = new Uint8Array(size + 10).fill(0xee);
    expect(decodeBlockWasm(block, size, output, 5)).toBe(true);
    expect(Buffer.from(output.subarray(5, 5 + size)).equals(Buffer.from(weights))).toBe(true);
    expect([...output.subarray(0, 5), ...output.subarray(5 + size)]).toEqual(Array(10).fill(0xee));
  });

  it("refuses a size other than the block's, writing nothing, and decodes the next", () => {
    const output = new Uint8Array(size + 1).fill(0xee);
    expect(decodeBlockWasm(block, size - 1, output, 0)).toBe(false);
    expect(decodeBlockWasm(block, size + 1, output, 0)).toBe(false);
    expect(output.every((byte) => byte === 0xee)).toBe(true);
    expect(decodeBlockWasm(block, size, output, 1)).toBe(true);
  });

  it("refuses a place too small for the size", () => {
    expect(decodeBlockWasm(block, size, new Uint8Array(size), 1)).toBe(false);
  });

  it("refuses a match before the start of the data", () => {
    // One literal, then a match 9 bytes back.
    expect(decodeBlockWasm(Uint8Array.of(0x10, 0x41, 9, 0, 0x00), 13, new Uint8Array(100), 0)).toBe(false);
    expect(decodeBlockWasm(block, size, new Uint8Array(size), 0)).toBe(true);
  });

  it("never throws on garbage, and stays usable", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const garbage = pseudoRandomBytes(1 + (seed % 97) * 13, seed);
      decodeBlockWasm(garbage, 1 + (seed % 5) * 1000, new Uint8Array(4096), 0);
    }
    expect(decodeBlockWasm(block, size, new Uint8Array(size), 0)).toBe(true);
  });
});
