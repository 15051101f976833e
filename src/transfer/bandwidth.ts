import { setTimeout as sleep } from "node:timers/promises";

/**
 * One throughput cap shared by every transfer of a fetch (`network.bandwidth.limit`).
 *
 * A token bucket kept as a virtual clock: each take of n bytes moves the clock n/rate
 * forward; a taker whose bytes fall beyond "now + burst" sleeps until they fit. Callers
 * take after receiving a chunk and before reading the next, so a sleeping taker stops
 * reading its socket and TCP slows the sender: the cap is on the wire, not just on disk.
 */
export class BandwidthLimiter {
  readonly #bytesPerMs: number;
  readonly #burstMs: number;
  #clock = 0;

  /** `burstMs`: how far ahead of real time the budget may run (a short burst after idling). */
  constructor(bytesPerSecond: number, burstMs = 100) {
    if (!(bytesPerSecond > 0)) throw new RangeError(`bandwidth limit must be positive, got ${bytesPerSecond}`);
    this.#bytesPerMs = bytesPerSecond / 1000;
    this.#burstMs = burstMs;
  }

  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    const now = performance.now();
    // Idle time earns at most `burstMs` of credit.
    this.#clock = Math.max(this.#clock, now - this.#burstMs) + bytes / this.#bytesPerMs;
    const wait = this.#clock - now;
    if (wait > 1) await sleep(wait, undefined, signal === undefined ? {} : { signal });
  }
}

/** No limit: takes never wait. */
export const unlimitedBandwidth = {
  take: async (_bytes: number, _signal?: AbortSignal): Promise<void> => {},
};

export type Bandwidth = Pick<BandwidthLimiter, "take">;

export function bandwidthFor(bytesPerSecond: number | null): Bandwidth {
  return bytesPerSecond === null ? unlimitedBandwidth : new BandwidthLimiter(bytesPerSecond);
}
