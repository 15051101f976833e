/**
 * The LZ4 frame decoder and encoder against implementations nobody here wrote: Debian's lz4
 * CLI (the reference C library) in both directions, and lz4js (the JavaScript one
 * @huggingface/hub vendors) in both directions. Hostile frames fail with a message saying what
 * was wrong, and never produce more than the declared size.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as lz4js from "lz4js";
import { afterAll, describe, expect, it } from "vitest";
import { splitBytePlanes } from "../../src/xet/byte-grouping.js";
import { XetFormatError } from "../../src/xet/errors.js";
import { decodeLz4Frame } from "../../src/xet/lz4-decode.js";
import { encodeLz4Frame } from "../../src/xet/lz4-encode.js";
import { pseudoRandomBytes } from "../helpers/hub-fixture.js";

const work = mkdtempSync(join(tmpdir(), "xet-lz4-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs `lz4 ARGS input output` and returns the output file's bytes. */
function lz4Cli(args: string[], input: Uint8Array): Uint8Array {
  const source = join(work, "in");
  const target = join(work, "out");
  writeFileSync(source, input);
  rmSync(target, { force: true });
  execFileSync("lz4", ["-q", "-f", ...args, source, target]);
  return new Uint8Array(readFileSync(target));
}

const text = Buffer.from("The quick brown fox jumps over the lazy dog. ".repeat(4000)); // 180 KB, compressible
const floats = Buffer.from(Float32Array.from({ length: 40_000 }, (_, index) => Math.sin(index / 50)).buffer);
// bf16 weights around zero, byte-grouped as Xet stores them: sequences of a few bytes each,
// the decoder's short-run path, where real model chunks spend their time.
const noise = pseudoRandomBytes(60_000, 11);
const weights = splitBytePlanes(
  Uint8Array.from(noise, (byte, index) => (index % 2 === 0 ? byte : 0x3c + (byte % 3) + (byte >> 7) * 0x80)),
);
const mixed = Buffer.concat([pseudoRandomBytes(70_000, 5), text.subarray(0, 90_000), Buffer.alloc(5000)]);
const samples: Array<[string, Uint8Array]> = [
  ["text", text],
  ["floats", floats],
  ["byte-grouped bf16", weights],
  ["random and text", mixed],
  ["one byte", Uint8Array.of(7)],
  ["empty", new Uint8Array(0)],
];

/** Byte equality without vitest's element-by-element diffing, which takes seconds on 100 KB. */
function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  expect(Buffer.from(actual).equals(Buffer.from(expected))).toBe(true);
}

function expectLz4Error(run: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(XetFormatError);
  expect((caught as XetFormatError).code).toBe("lz4");
  expect((caught as Error).message).toMatch(message);
}

describe("LZ4 frames", () => {
  it.each([
    ["default options", ["-B4"]],
    ["linked blocks", ["-B4", "-BD"]],
    ["block checksums and content size", ["-B4", "-BX", "--content-size"]],
    ["4 MiB blocks, no content checksum", ["-B7", "--no-frame-crc"]],
    ["highest compression", ["-12", "-B5"]],
  ])("decodes what the lz4 CLI writes with %s", (_, args) => {
    for (const [, data] of samples) expectSameBytes(decodeLz4Frame(lz4Cli(args, data), data.length), data);
  });

  it.each(samples)("the lz4 CLI decodes our frame of %s", (_, data) => {
    const frame = encodeLz4Frame(data);
    expectSameBytes(lz4Cli(["-d"], frame), data);
  });

  it.each(samples)("lz4js decodes our frame of %s, and we decode its frame", (_, data) => {
    if (data.length > 0) expectSameBytes(lz4js.decompress(encodeLz4Frame(data), data.length), data);
    expectSameBytes(decodeLz4Frame(Uint8Array.from(lz4js.compress(data)), data.length), data);
  });

  it("compresses what compresses", () => {
    expect(encodeLz4Frame(text).length).toBeLessThan(text.length / 10);
  });
});

describe("hostile LZ4 frames", () => {
  const good = lz4Cli(["-B4", "-BX"], text);

  it("refuses a bomb: data that decodes past the declared size stops at the declared size", () => {
    const bomb = lz4Cli(["-B4"], new Uint8Array(50 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(300 * 1024);
    expectLz4Error(() => decodeLz4Frame(bomb, 128 * 1024), /more than the 131072 bytes the chunk header declares/);
  });

  it("refuses data shorter than declared", () => {
    expectLz4Error(
      () => decodeLz4Frame(good, text.length + 1),
      new RegExp(`decodes to ${text.length} bytes, but the chunk header declares ${text.length + 1}`),
    );
  });

  it("refuses a content size that disagrees with the chunk header", () => {
    const sized = lz4Cli(["--content-size"], text);
    expectLz4Error(() => decodeLz4Frame(sized, 1000), /declares 180000 bytes of content, the chunk header 1000/);
  });

  it("refuses a wrong magic number, header checksum, block checksum and trailing bytes", () => {
    const flip = (at: number) => {
      const copy = Uint8Array.from(good);
      copy[at] = copy[at]! ^ 0x40;
      return copy;
    };
    expectLz4Error(() => decodeLz4Frame(flip(0), text.length), /not an LZ4 frame/);
    expectLz4Error(() => decodeLz4Frame(flip(6), text.length), /header checksum mismatch/);
    expectLz4Error(() => decodeLz4Frame(flip(20), text.length), /block checksum mismatch/);
    expectLz4Error(
      () => decodeLz4Frame(Uint8Array.from([...good, 0]), text.length),
      /1 stray bytes after the LZ4 frame/,
    );
  });

  it("refuses a frame cut short anywhere", () => {
    for (const cut of [3, 5, 7, 9, 30, good.length - 1]) {
      expectLz4Error(() => decodeLz4Frame(good.subarray(0, cut), text.length), /ends inside/);
    }
  });

  it("refuses a match that points before the start of the data", () => {
    // One block: token (1 literal, match length 4), literal 'a', offset 2 — but only 1 byte exists.
    const header = encodeLz4Frame(new Uint8Array(0)).subarray(0, 7);
    const block = Uint8Array.of(0x10, 0x61, 0x02, 0x00, 0x00);
    const frame = Uint8Array.from([...header, block.length, 0, 0, 0, ...block, 0, 0, 0, 0]);
    expectLz4Error(() => decodeLz4Frame(frame, 5), /refers 2 bytes back, before the start/);
  });
});
