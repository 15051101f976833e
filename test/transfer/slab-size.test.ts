// Slabs sized to the fetch (src/transfer/slab-pool.ts, slabBytesFor): a small fetch fills
// slabs of 256 KiB, whose pages are new to the process, instead of 1 MiB ones. These check the
// choice, and that files around the new slab size still arrive whole through the engine.
import { join } from "node:path";
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { transferAll } from "../../src/transfer/engine.js";
import { slabBytesFor } from "../../src/transfer/slab-pool.js";
import { generatedBytes } from "../helpers/fault-server.js";
import { MiB, item, quickSettings, sha256, useFaultBed } from "../helpers/transfer-fixtures.js";

const KiB = 1024;
const capacity = 24 * MiB;

describe("slabBytesFor", () => {
  it("gives a fetch under 64 MiB slabs just under 256 KiB", () => {
    expect(slabBytesFor(capacity, 20 * MiB)).toBe(256 * KiB - 1);
    expect(slabBytesFor(capacity, 0)).toBe(256 * KiB - 1);
    expect(slabBytesFor(capacity, 64 * MiB - 1)).toBe(256 * KiB - 1);
  });

  it("gives a fetch of 64 MiB or more, or of a size not known, slabs just under 1 MiB", () => {
    expect(slabBytesFor(capacity, 64 * MiB)).toBe(MiB - 1);
    expect(slabBytesFor(capacity, 1024 * MiB)).toBe(MiB - 1);
    expect(slabBytesFor(capacity, undefined)).toBe(MiB - 1);
  });

  it("never gives more than a 16th of the pool, nor less than 4 KiB", () => {
    expect(slabBytesFor(2 * MiB, undefined)).toBe(128 * KiB);
    expect(slabBytesFor(2 * MiB, MiB)).toBe(128 * KiB);
    expect(slabBytesFor(1024, MiB)).toBe(4096);
  });
});

describe("a small fetch on 256 KiB slabs", () => {
  const bed = useFaultBed({ freshDir: true });

  it("delivers files just under, at and over a slab, and over several, byte for byte", async () => {
    const sizes = [256 * KiB - 2, 256 * KiB - 1, 256 * KiB, 256 * KiB + 1, 3 * MiB + 17, 8 * KiB];
    const expected = sizes.map((size, index) => generatedBytes(index + 1, 0, size));
    for (const [index, size] of sizes.entries()) bed.server.serveGenerated(`/f${index}`, size, index + 1);
    const results = await transferAll(
      sizes.map((size, index) =>
        item(bed.http, bed.server.url(`/f${index}`), join(bed.dir.path, `f${index}`), {
          size,
          expected: { sha256: sha256(expected[index]!) },
        }),
      ),
      { settings: quickSettings({ concurrency: 4 }) },
    );
    expect(results.map((result) => result.size)).toEqual(sizes);
    for (const [index, bytes] of expected.entries())
      expect((await readFile(join(bed.dir.path, `f${index}`))).equals(bytes), `f${index}`).toBe(true);
  });
});
