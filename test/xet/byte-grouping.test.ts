/**
 * Xet's ByteGrouping4 transform against its definition in xet-core's spec/xorb.md: plane k
 * holds bytes k, k + 4, k + 8, … of the data, the planes one after the other. Joining is
 * done a 4-byte group at a time, so every remainder of the length by 4 is tried, on lengths
 * around a real chunk's.
 */
import { describe, expect, it } from "vitest";
import { joinBytePlanes, splitBytePlanes } from "../../src/xet/byte-grouping.js";
import { pseudoRandomBytes } from "../helpers/hub-fixture.js";

/** The planes by the spec's definition, written as plainly as possible. */
function planesByDefinition(data: Uint8Array): Uint8Array {
  const planes: number[][] = [[], [], [], []];
  for (const [index, byte] of data.entries()) planes[index % 4]!.push(byte);
  return Uint8Array.from(planes.flat());
}

// Around four groups and sixteen bytes too: the join reads four groups of each plane at a time.
const lengths = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 19, 31, 33, 65_536, 65_537, 65_538, 65_539, 65_548, 131_071];

describe("ByteGrouping4", () => {
  it.each(lengths)("splits %i bytes into the spec's planes and joins them back", (length) => {
    const data = new Uint8Array(pseudoRandomBytes(length, length));
    const planes = splitBytePlanes(data);
    expect(Buffer.from(planes).equals(Buffer.from(planesByDefinition(data)))).toBe(true);
    expect(Buffer.from(joinBytePlanes(planes)).equals(Buffer.from(data))).toBe(true);
  });

  it("joins planes that are a view into a larger buffer", () => {
    const data = new Uint8Array(pseudoRandomBytes(1_001, 3));
    const held = new Uint8Array(1_010);
    held.set(splitBytePlanes(data), 7);
    expect(Buffer.from(joinBytePlanes(held.subarray(7, 7 + data.length))).equals(Buffer.from(data))).toBe(true);
  });
});
