/**
 * Contents for a Xet repo in serve tests: each compression scheme has content it wins on
 * (noise stays raw, text compresses with LZ4, slowly varying floats with BG4-LZ4), one file
 * repeats a block (dedup within a file), another starts with the first one's bytes (dedup
 * across files), one holds the middle chunks of another in swapped order (two disjoint ranges
 * of one xorb: a multi-range read), and there are regular git files beside the LFS ones.
 */
import type { XetFault } from "../../src/serve/index.js";
import type { XetErrorCode } from "../../src/xet/index.js";
import { pseudoRandomBytes } from "../helpers/hub-fixture.js";

export function floats(count: number, seed: number): Buffer {
  return Buffer.from(Float32Array.from({ length: count }, (_, index) => Math.sin((index + seed) / 300) * 3).buffer);
}

export function text(size: number): Buffer {
  const words = "weights bias layer attention head token embedding norm ".repeat(1 + Math.ceil(size / 50));
  return Buffer.from(words.slice(0, size));
}

export function xetRepoFiles(): Record<string, Buffer | string> {
  const noise = pseudoRandomBytes(700_000, 21);
  const model = Buffer.concat([floats(150_000, 1), text(300_000), noise]);
  const block = pseudoRandomBytes(400_000, 33);
  const first = pseudoRandomBytes(200_000, 51);
  const second = pseudoRandomBytes(200_000, 52);
  return {
    "config.json": '{"model_type": "xet-test"}\n',
    "README.md": "# A Xet test model\n",
    "model.safetensors": model,
    "model-v2.safetensors": Buffer.concat([model.subarray(0, 900_000), pseudoRandomBytes(200_000, 44)]),
    "repeats.bin": Buffer.concat([block, block, block, text(1000)]),
    "tiny.bin": Buffer.from("a tiny LFS file"),
    "ab.bin": Buffer.concat([first, second]),
    "ba.bin": Buffer.concat([second, first]),
  };
}

/**
 * Each of serve's Xet faults, the code a client built on src/xet refuses it with, and the words
 * of the refusal: the same for the client core (xet-endpoints.test.ts) and the fetcher
 * (test/sources/huggingface-xet.test.ts).
 */
export const XET_FAULT_REFUSALS: ReadonlyArray<readonly [XetFault, XetErrorCode, RegExp]> = [
  ["chunk-version", "chunk-header", /header version 1, but Xet only defines version 0/],
  ["chunk-scheme", "chunk-header", /unknown compression scheme 7/],
  ["chunk-uncompressed-size", "lz4", /decodes to more than the \d+ bytes the chunk header declares/],
  ["lz4-bomb", "lz4", /decodes to more than the \d+ bytes the chunk header declares/],
  // Either the per-term check or the per-range bound catches it first, depending on timing.
  ["term-unpacked-length", "term-length", /unpacked_length/],
  ["term-outside-fetch", "reconstruction", /is not inside any fetch entry/],
  ["total-length", "reconstruction", /add up to \d+ bytes, but \d+ were expected/],
];
