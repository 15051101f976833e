/**
 * The pool of buffers for decoded Xet chunks: a buffer given back is lent again, to a chunk of
 * its class or the one below, never to a much smaller chunk; what it did not lend, or a second
 * give of a free buffer, changes nothing; and it keeps no more free buffers than it is allowed.
 */
import { describe, expect, it } from "vitest";
import { ChunkPool } from "../../src/xet/chunk-pool.js";

const KiB = 1024;

describe("ChunkPool", () => {
  it("lends `size` bytes and lends a buffer given back again", () => {
    const pool = new ChunkPool(1 << 20);
    const first = pool.take(50 * KiB);
    expect(first.length).toBe(50 * KiB);
    expect(pool.lentBytes).toBe(64 * KiB); // its class: 16 KiB steps
    pool.give(first);
    expect(pool.lentBytes).toBe(0);
    const again = pool.take(60 * KiB);
    expect(again.buffer).toBe(first.buffer);
    expect(again.length).toBe(60 * KiB);
  });

  it("lends a free buffer of the size's class or the next, never a much larger one", () => {
    const pool = new ChunkPool(1 << 20);
    const small = pool.take(20 * KiB); // class of 32 KiB
    const large = pool.take(120 * KiB); // class of 128 KiB
    pool.give(large);
    pool.give(small);
    expect(pool.take(10 * KiB).buffer).toBe(small.buffer); // one class up
    const fresh = pool.take(10 * KiB);
    expect(fresh.buffer).not.toBe(large.buffer); // a 10 KiB chunk does not pin 128 KiB
    expect(pool.lentBytes).toBe(32 * KiB + 16 * KiB);
    expect(pool.take(100 * KiB).buffer).toBe(large.buffer); // 112 KiB class, one below
  });

  it("ignores what it did not lend, and a buffer given back twice", () => {
    const pool = new ChunkPool(1 << 20);
    const chunk = pool.take(30 * KiB);
    pool.give(new Uint8Array(32 * KiB));
    pool.give(chunk);
    pool.give(chunk);
    expect(pool.lentBytes).toBe(0);
    const a = pool.take(30 * KiB);
    const b = pool.take(30 * KiB);
    expect(a.buffer).toBe(chunk.buffer);
    expect(b.buffer).not.toBe(chunk.buffer); // not lent twice at once
  });

  it("keeps at most `maxFreeBytes` of free buffers; a pool of 0 keeps none", () => {
    const pool = new ChunkPool(64 * KiB);
    const chunks = [pool.take(64 * KiB), pool.take(64 * KiB)];
    for (const chunk of chunks) pool.give(chunk);
    expect(pool.take(64 * KiB).buffer).toBe(chunks[0]!.buffer);
    expect(chunks.map((chunk) => chunk.buffer)).not.toContain(pool.take(64 * KiB).buffer);

    const none = new ChunkPool(0);
    const chunk = none.take(KiB);
    none.give(chunk);
    expect(none.take(KiB).buffer).not.toBe(chunk.buffer);
  });
});
