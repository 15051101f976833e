import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { HashWorkers } from "../../src/transfer/hash-workers.js";

const bytes = (length: number, seed: number) => Buffer.from(Array.from({ length }, (_, i) => (i * 131 + seed) & 0xff));
const shared = (source: Uint8Array) => {
  const copy = new Uint8Array(new SharedArrayBuffer(source.byteLength + 16), 16, source.byteLength);
  copy.set(source);
  return copy;
};
const hex = (algorithm: string, ...chunks: Uint8Array[]) => {
  const hash = createHash(algorithm);
  for (const chunk of chunks) hash.update(chunk);
  return hash.digest("hex");
};

let workers: HashWorkers | undefined;
afterEach(async () => {
  await workers?.close();
  workers = undefined;
});

describe("HashWorkers", () => {
  it("computes every digest on another thread, in order, and hands each slab back once read", async () => {
    workers = new HashWorkers(2);
    const chunks = [bytes(70_000, 1), bytes(1, 2), bytes(300_000, 3)];
    const size = chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
    const expected = { sha1: "x", md5: "x", gitBlobSha1: "x" };
    const first = workers.digests(expected, size);
    const second = workers.digests({}, undefined);
    const consumed: number[] = [];
    chunks.forEach((chunk, index) => {
      // A slab (shared memory, at an offset) and, for the second file, plain memory.
      first.update(shared(chunk), () => consumed.push(index));
      second.update(chunk);
    });
    const [one, two] = await Promise.all([first.result(), second.result()]);
    expect(consumed).toEqual([0, 1, 2]);
    expect(one).toEqual({
      sha256: hex("sha256", ...chunks),
      sha1: hex("sha1", ...chunks),
      md5: hex("md5", ...chunks),
      gitBlobSha1: hex("sha1", Buffer.from(`blob ${size}\0`), ...chunks),
    });
    expect(two).toEqual({ sha256: hex("sha256", ...chunks) });
  });

  it("refuses a git blob id without a size, before any thread is involved", () => {
    workers = new HashWorkers(1);
    expect(() => workers?.digests({ gitBlobSha1: "x" }, undefined)).toThrow(/without knowing the size/);
  });

  it("still hands back the slabs of a file given up, and of every file when stopped", async () => {
    workers = new HashWorkers(1);
    const dropped = workers.digests({}, undefined);
    const pending = workers.digests({}, undefined);
    let consumed = 0;
    for (let i = 0; i < 20; i++) {
      dropped.update(shared(bytes(100_000, i)), () => (consumed += 1));
      pending.update(shared(bytes(100_000, i)), () => (consumed += 1));
    }
    dropped.dispose();
    const result = pending.result();
    await workers.close();
    workers = undefined;
    // Either hashed before the stop or handed back by it: no slab is ever lost.
    expect(consumed).toBe(40);
    await result.then(
      (digests) => expect(digests.sha256).toMatch(/^[0-9a-f]{64}$/),
      (error: unknown) => expect(String(error)).toMatch(/stopped/),
    );
  });
});
