import { describe, expect, it } from "vitest";
import { IntegrityFailure, TransferFailure } from "../../src/errors/failures.js";
import { backoffDelayMs, withRetries, type RetryPolicy } from "../../src/retry/retry.js";

const policy: RetryPolicy = { maxAttempts: 3, baseDelayMs: 0, maxDelayMs: 0 };
const unavailable = (retryAfterMs?: number) =>
  new TransferFailure("HTTP 503", { retryable: true, status: 503, ...(retryAfterMs ? { retryAfterMs } : {}) });

/** An operation that fails with the given errors in turn, then succeeds. */
function failing(...errors: unknown[]) {
  const attempts: number[] = [];
  return {
    attempts,
    run: async (attempt: number) => {
      attempts.push(attempt);
      const error = errors[attempts.length - 1];
      if (error !== undefined) throw error;
      return "done";
    },
  };
}

describe("withRetries", () => {
  it("retries what can change on its own, and waits at least as long as the server asks", async () => {
    const waits: number[] = [];
    const operation = failing(unavailable(7), unavailable());
    const result = await withRetries(operation.run, { policy, onRetry: (_failure, delayMs) => waits.push(delayMs) });
    expect(result).toBe("done");
    expect(operation.attempts).toEqual([1, 2, 3]);
    expect(waits).toEqual([7, 0]);
  });

  it("gives up after maxAttempts, saying how often it tried, with the failure's code", async () => {
    const operation = failing(unavailable(), unavailable(), unavailable(), unavailable());
    const error = await withRetries(operation.run, { policy }).catch((caught: unknown) => caught);
    expect(operation.attempts).toEqual([1, 2, 3]);
    expect(error).toBeInstanceOf(TransferFailure);
    expect((error as TransferFailure).message).toBe("HTTP 503 (gave up after 3 attempts)");
    expect((error as TransferFailure).code).toBe("NMR_SERVER");
    expect((error as TransferFailure).retryable).toBe(false);
  });

  it.each([401, 403, 404])("does not retry HTTP %i: the failure is thrown as it is", async (status) => {
    const refused = new TransferFailure(`HTTP ${status}`, { retryable: false, status });
    const operation = failing(refused);
    await expect(withRetries(operation.run, { policy })).rejects.toBe(refused);
    expect(operation.attempts).toEqual([1]);
  });

  it("does not retry the engine's other failures, nor errors without a code", async () => {
    const integrity = new IntegrityFailure("size");
    await expect(withRetries(failing(integrity).run, { policy })).rejects.toBe(integrity);
    const bug = new TypeError("x is not a function");
    await expect(withRetries(failing(bug).run, { policy })).rejects.toBe(bug);
  });

  it("retries a reset connection (a system error, by its code)", async () => {
    const reset = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
    const operation = failing(reset);
    await expect(withRetries(operation.run, { policy })).resolves.toBe("done");
    expect(operation.attempts).toEqual([1, 2]);
  });

  it("starts the count again after an attempt that made progress, within maxTotalAttempts", async () => {
    const operation = failing(...Array.from({ length: 20 }, () => unavailable()));
    const error = await withRetries(operation.run, {
      policy,
      maxTotalAttempts: 7,
      madeProgress: () => operation.attempts.length % 2 === 0,
    }).catch((caught: unknown) => caught);
    // Without progress it would stop at 3; with progress on every other attempt only the cap stops it.
    expect(operation.attempts).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect((error as Error).message).toContain("gave up after 7 attempts");
  });

  it("stops at once when aborted, with the reason, also while waiting", async () => {
    const controller = new AbortController();
    const reason = new Error("user pressed ^C");
    const waiting = withRetries(failing(unavailable(60_000)).run, {
      policy,
      signal: controller.signal,
      onRetry: () => queueMicrotask(() => controller.abort(reason)),
    });
    await expect(waiting).rejects.toBe(reason);
  });

  it("backs off exponentially within [half, whole] of base·2^(n−1), capped", () => {
    const slow = { maxAttempts: 9, baseDelayMs: 1000, maxDelayMs: 5000 };
    for (const [failures, whole] of [
      [1, 1000],
      [2, 2000],
      [3, 4000],
      [4, 5000],
    ] as const) {
      const delay = backoffDelayMs(slow, failures);
      expect(delay).toBeGreaterThanOrEqual(whole / 2);
      expect(delay).toBeLessThanOrEqual(whole);
    }
  });
});
