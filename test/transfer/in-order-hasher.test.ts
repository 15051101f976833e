import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { StreamingDigests } from "../../src/transfer/digests.js";
import { InOrderHasher } from "../../src/transfer/in-order-hasher.js";
import { SlabPool } from "../../src/transfer/slab-pool.js";

const bytes = (length: number, seed: number) => Buffer.from(Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff));
const sha256 = (...chunks: Uint8Array[]) => createHash("sha256").update(Buffer.concat(chunks)).digest("hex");

describe("InOrderHasher", () => {
  it("hashes slabs that arrive out of order in file order, and hands each back once hashed", async () => {
    const slabs = [bytes(100, 1), bytes(100, 2), bytes(50, 3), bytes(50, 4)];
    const consumed: number[] = [];
    const hasher = new InOrderHasher(new StreamingDigests({}, 300), new SlabPool(1024, 256));

    hasher.add(250, slabs[3]!, () => consumed.push(250));
    hasher.add(100, slabs[1]!, () => consumed.push(100));
    hasher.add(200, slabs[2]!, () => consumed.push(200));
    expect(consumed).toEqual([]);
    expect(hasher.frontier).toBe(0);
    expect(hasher.slabsAhead).toBe(3);

    hasher.add(0, slabs[0]!, () => consumed.push(0));
    expect(consumed).toEqual([0, 100, 200, 250]);
    expect(hasher.frontier).toBe(300);
    expect(hasher.slabsAhead).toBe(0);
    expect((await hasher.result()).sha256).toBe(sha256(...slabs));
  });

  it("refuses a result while bytes wait for a gap, and gives every held slab back when disposed", async () => {
    const consumed: number[] = [];
    const hasher = new InOrderHasher(new StreamingDigests({}, 300), new SlabPool(1024, 256));
    hasher.add(0, bytes(100, 1), () => consumed.push(0));
    hasher.add(200, bytes(100, 3), () => consumed.push(200));
    await expect(hasher.result()).rejects.toThrow(/bytes after 100 arrived but the bytes before them did not/);
    expect(() => hasher.add(0, bytes(10, 1), () => consumed.push(-1))).toThrow(/twice/);

    hasher.dispose();
    expect(consumed).toEqual([0, -1, 200]);
    hasher.add(100, bytes(100, 2), () => consumed.push(100));
    expect(consumed.at(-1)).toBe(100);
  });
});

describe("SlabPool", () => {
  it("keeps a reserve that only a stream at the hash frontier may take", async () => {
    const pool = new SlabPool(8 * 256, 256);
    expect(pool.maxSlabs).toBe(8);
    expect(pool.reserve).toBe(1);
    const ahead = () => false;
    const held = await Promise.all(Array.from({ length: 7 }, () => pool.acquire(ahead)));
    expect(pool.inUse).toBe(7);

    let aheadServed = false;
    const waitingAhead = pool.acquire(ahead).then((slab) => {
      aheadServed = true;
      return slab;
    });
    const frontier = await pool.acquire(() => true);
    expect(frontier.bytes.byteLength).toBe(256);
    expect(pool.inUse).toBe(8);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(aheadServed).toBe(false);

    pool.release(frontier);
    await new Promise((resolve) => setTimeout(resolve, 10));
    // Back to one free slab: still the reserve.
    expect(aheadServed).toBe(false);
    pool.release(held[0]!);
    expect((await waitingAhead).bytes).toBeInstanceOf(Uint8Array);
    expect(pool.peak).toBe(8);
    expect(pool.allocatedBytes).toBe(8 * 256);
  });

  it("serves a waiting part as soon as it becomes the frontier, before parts further on", async () => {
    const pool = new SlabPool(4 * 256, 256);
    expect(pool.reserve).toBe(1);
    const held = await Promise.all(Array.from({ length: 3 }, () => pool.acquire(() => false)));
    let frontierAt = 0;
    const order: string[] = [];
    const later = pool.acquire(() => frontierAt >= 200).then(() => order.push("part at 200"));
    const next = pool.acquire(() => frontierAt >= 100).then(() => order.push("part at 100"));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(order).toEqual([]);

    frontierAt = 100;
    pool.recheck();
    await next;
    expect(order).toEqual(["part at 100"]);
    for (const slab of held) pool.release(slab);
    await later;
    expect(order).toEqual(["part at 100", "part at 200"]);
  });

  it("stops waiting when aborted", async () => {
    const pool = new SlabPool(256, 256);
    const only = await pool.acquire(() => true);
    const controller = new AbortController();
    const waiting = pool.acquire(() => true, controller.signal);
    controller.abort(new Error("stop"));
    await expect(waiting).rejects.toThrow("stop");
    pool.release(only);
    expect(pool.inUse).toBe(0);
  });
});
