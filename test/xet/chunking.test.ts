/** Content-defined chunking against xet-core's reference boundaries (deduplication/chunking.rs tests). */
import { describe, expect, it } from "vitest";
import { Chunker, chunkBytes, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE } from "../../src/xet/chunking.js";
import { pseudoRandomBytes } from "../helpers/hub-fixture.js";

const boundaries = (chunks: readonly Uint8Array[]) => {
  let offset = 0;
  return chunks.map((chunk) => (offset += chunk.length));
};

/** xet-core's get_triggering_base_data: a 128-byte pattern that hits the mask, padded with zeros, repeated. */
function triggeringData(length: number, padding: number): Uint8Array {
  const pattern = [
    154, 52, 42, 34, 159, 75, 126, 224, 70, 236, 12, 196, 79, 236, 178, 124, 127, 50, 99, 178, 44, 176, 174, 126, 250,
    235, 205, 174, 252, 122, 35, 10, 20, 101, 214, 69, 193, 8, 115, 105, 158, 228, 120, 111, 136, 162, 198, 251, 211,
    183, 253, 252, 164, 147, 63, 16, 186, 162, 117, 23, 170, 36, 205, 187, 174, 76, 210, 174, 211, 175, 12, 173, 145,
    59, 2, 70, 222, 181, 159, 227, 182, 156, 189, 51, 226, 106, 24, 50, 183, 157, 140, 10, 8, 23, 212, 70, 10, 234, 23,
    33, 219, 254, 39, 236, 70, 49, 191, 116, 9, 115, 15, 101, 26, 159, 165, 220, 15, 170, 56, 125, 92, 163, 94, 235, 38,
    40, 49, 81,
  ];
  const data = [...pattern, ...new Array<number>(padding).fill(0)];
  while (data.length < length) data.push(...data.slice(0, Math.min(length - data.length, data.length)));
  return Uint8Array.from(data);
}

// (padding, byte at 11111, boundaries) from xet-core test_correctness_100kb_hitting_data.
const HITTING: Array<[number, number, number[]]> = [
  [0, 236, [8256, 16448, 24640, 32832, 41024, 49216, 57408, 65536]],
  [1, 50, [8320, 16576, 24832, 33088, 41344, 49600, 57856, 65536]],
  [2, 36, [8254, 16574, 24894, 33214, 41534, 49854, 58174, 65536]],
  [3, 116, [8317, 16570, 24823, 33076, 41329, 49582, 57835, 65536]],
  [11, 0, [8265, 16466, 24667, 32868, 41069, 49270, 57471, 65536]],
  [17, 10, [8329, 16594, 24859, 33124, 41389, 49654, 57919, 65536]],
  [126, 0, [8192, 16574, 24956, 33338, 41720, 50102, 58484, 65536]],
  [127, 0, [8224, 16639, 25054, 33469, 41884, 50299, 58714, 65536]],
];

describe("Xet content-defined chunking", () => {
  it.each(HITTING)(
    "cuts xet-core's boundaries for the hitting pattern with padding %i",
    (padding, sample, expected) => {
      const data = triggeringData(65536, padding);
      expect(data[11111]).toBe(sample); // the input is the one xet-core's vector was made from
      expect(boundaries(chunkBytes(data))).toEqual(expected);
    },
  );

  it("cuts constant data at the 128 KiB maximum (xet-core test_correctness_1mb_const_data)", () => {
    expect(boundaries(chunkBytes(new Uint8Array(1_000_000).fill(59)))).toEqual([
      131072, 262144, 393216, 524288, 655360, 786432, 917504, 1000000,
    ]);
  });

  it("gives the same chunks however the input is split, within the size limits", () => {
    const data = Buffer.concat([
      pseudoRandomBytes(900_000, 3),
      triggeringData(200_000, 5),
      pseudoRandomBytes(77_777, 4),
    ]);
    const whole = chunkBytes(data);
    for (const pieceSize of [1, 4095, 8192, 65_537, 300_001]) {
      const chunker = new Chunker();
      const pieces: Uint8Array[] = [];
      for (let offset = 0; offset < data.length; offset += pieceSize) {
        pieces.push(...chunker.update(data.subarray(offset, offset + pieceSize)));
      }
      const last = chunker.finish();
      if (last) pieces.push(last);
      expect(boundaries(pieces)).toEqual(boundaries(whole));
      expect(Buffer.concat(pieces).equals(data)).toBe(true);
    }
    for (const chunk of whole.slice(0, -1)) {
      expect(chunk.length).toBeGreaterThanOrEqual(MIN_CHUNK_SIZE);
      expect(chunk.length).toBeLessThanOrEqual(MAX_CHUNK_SIZE);
    }
  });

  it("emits a file shorter than the minimum as one chunk, and nothing for no data", () => {
    expect(boundaries(chunkBytes(new Uint8Array(63)))).toEqual([63]);
    expect(chunkBytes(new Uint8Array(0))).toEqual([]);
  });
});
