import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { BufferReclaimer } from "../../src/transfer/buffer-reclaimer.js";
import { bundleFixture } from "../helpers/bundle-fixture.js";
import { MiB, tempDir } from "../helpers/transfer-fixtures.js";

/**
 * A process's memory as the reclaimer sees it: `garbage` bytes of dead buffers that only a
 * collection frees, `live` bytes of buffers in use, and the slab pool.
 */
function memory(initial: { live: number; garbage: number; pool: number }) {
  const state = { ...initial, collections: 0 };
  const probes = {
    arrayBufferBytes: () => state.live + state.garbage + state.pool,
    poolBytes: () => state.pool,
    collect: () => {
      state.collections += 1;
      state.garbage = 0;
    },
  };
  return { state, probes };
}

describe("BufferReclaimer", () => {
  it("collects once the buffers outside the pool grew by the threshold, and reports what was freed", () => {
    const { state, probes } = memory({ live: 2 * MiB, garbage: 0, pool: 24 * MiB });
    const reclaimer = new BufferReclaimer(probes, 8 * MiB);
    state.garbage = 7 * MiB;
    expect(reclaimer.check()).toBeUndefined();
    state.garbage = 9 * MiB;
    expect(reclaimer.check()).toBe(9 * MiB);
    expect(state.collections).toBe(1);
    // Counted again from what the collection left.
    state.garbage = 7 * MiB;
    expect(reclaimer.check()).toBeUndefined();
    expect(state.collections).toBe(1);
  });

  it("does not count the slab pool: slabs are live whatever a collection does", () => {
    const { state, probes } = memory({ live: 1 * MiB, garbage: 0, pool: 0 });
    const reclaimer = new BufferReclaimer(probes, 8 * MiB);
    state.pool = 64 * MiB;
    expect(reclaimer.check()).toBeUndefined();
    expect(state.collections).toBe(0);
  });

  it("measures growth from the lowest level seen, so garbage the scavenger frees does not add up", () => {
    const { state, probes } = memory({ live: 6 * MiB, garbage: 0, pool: 24 * MiB });
    const reclaimer = new BufferReclaimer(probes, 8 * MiB);
    // Young garbage comes and goes: each look is under the threshold from the one before.
    for (const garbage of [5, 0, 6, 1, 7, 0]) {
      state.garbage = garbage * MiB;
      expect(reclaimer.check()).toBeUndefined();
    }
    // Sockets closed: the live bytes fell, and growth is counted from there.
    state.live = 1 * MiB;
    expect(reclaimer.check()).toBeUndefined();
    state.garbage = 8 * MiB;
    expect(reclaimer.check()).toBe(8 * MiB);
  });
});

describe("a transfer under the CLI's V8 settings", () => {
  it("frees promoted dead buffers while it runs, which V8 alone keeps to the end", async () => {
    const dir = await tempDir();
    try {
      const script = join(dir.path, "promoted-buffers.mjs");
      await bundleFixture(join(import.meta.dirname, "fixtures/promoted-buffers.ts"), script);
      const { stdout } = await promisify(execFile)(
        process.execPath,
        // package.json's nodeOptions, and src/cli/main.ts's flag that matters here.
        ["--max-semi-space-size=1", "--no-incremental-marking", "--expose-gc", script, join(dir.path, "slow.bin")],
        { maxBuffer: 1 << 20 },
      );
      const { size, before, dropped, later } = JSON.parse(stdout) as {
        size: number;
        before: number;
        dropped: number;
        later: number;
      };
      expect(size).toBe(4 * MiB);
      // The fixture's 32 MiB of promoted buffers were dead but still counted…
      expect(dropped - before).toBeGreaterThan(30 * MiB);
      // …and are gone 1.5 s later (without the reclaimer: 39 MiB more than before).
      expect(later - before).toBeLessThan(12 * MiB);
    } finally {
      await dir.remove();
    }
  }, 30_000);
});
