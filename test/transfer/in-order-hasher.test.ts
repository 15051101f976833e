import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ByteBudget } from "../../src/transfer/byte-budget.js";
import { StreamingDigests } from "../../src/transfer/digests.js";
import { InOrderHasher } from "../../src/transfer/in-order-hasher.js";

const bytes = (length: number, seed: number) => Buffer.from(Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff));

describe("InOrderHasher", () => {
  it("hashes parts that arrive out of order in file order, within the budget", async () => {
    const parts = [bytes(100, 1), bytes(100, 2), bytes(100, 3)];
    const budget = new ByteBudget(1000);
    const digests = new StreamingDigests({}, 300);
    const hasher = new InOrderHasher(digests, 3, budget);

    await hasher.push(2, parts[2]!.subarray(0, 50));
    await hasher.push(1, parts[1]!);
    await hasher.push(2, parts[2]!.subarray(50));
    hasher.complete(2);
    hasher.complete(1);
    expect(budget.used).toBe(200);
    await hasher.push(0, parts[0]!);
    hasher.complete(0);

    expect(hasher.done).toBe(true);
    expect(budget.used).toBe(0);
    expect(digests.finish().sha256).toBe(createHash("sha256").update(Buffer.concat(parts)).digest("hex"));
  });

  it("makes a part ahead of the frontier wait when the budget is spent, and lets it go when it becomes the head", async () => {
    const budget = new ByteBudget(100);
    const digests = new StreamingDigests({}, 300);
    const hasher = new InOrderHasher(digests, 2, budget);

    await hasher.push(1, bytes(100, 5));
    let released = false;
    const waiting = hasher.push(1, bytes(100, 6)).then(() => {
      released = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(released).toBe(false);
    expect(budget.peak).toBe(100);

    await hasher.push(0, bytes(100, 4));
    hasher.complete(0);
    await waiting;
    expect(released).toBe(true);
    hasher.complete(1);
    expect(budget.peak).toBe(100);
    expect(digests.finish().sha256).toBe(
      createHash("sha256").update(Buffer.concat([bytes(100, 4), bytes(100, 5), bytes(100, 6)])).digest("hex"),
    );
  });
});
