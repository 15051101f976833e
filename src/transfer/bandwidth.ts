import { setTimeout as sleep } from "node:timers/promises";

/**
 * One throughput cap shared by every transfer of a fetch (`network.bandwidth.limit`).
 *
 * A token bucket kept as a virtual clock: each take of n bytes moves the clock n/rate
 * forward; a taker whose bytes fall beyond "now + burst" sleeps until they fit. Callers
 * take after receiving a chunk and before reading the next, so a sleeping taker stops
 * reading its socket and TCP slows the sender: the cap is on the wire, not just on disk.
 */
class BandwidthLimiter {
  readonly #bytesPerMs: number;
  readonly #burstMs: number;
  #clock = 0;

  /** `burstMs`: how far ahead of real time the budget may run (a short burst after idling). */
  constructor(bytesPerSecond: number, burstMs = 100) {
    if (!(bytesPerSecond > 0)) throw new RangeError(`bandwidth limit must be positive, got ${bytesPerSecond}`);
    this.#bytesPerMs = bytesPerSecond / 1000;
    this.#burstMs = burstMs;
  }

  /**
   * Counts `bytes`; returns a promise to await only when the caller must wait (undefined
   * otherwise: the receive loops await nothing per chunk unless the cap bites).
   */
  take(bytes: number, signal?: AbortSignal): Promise<void> | undefined {
    const now = performance.now();
    // Idle time earns at most `burstMs` of credit.
    this.#clock = Math.max(this.#clock, now - this.#burstMs) + bytes / this.#bytesPerMs;
    const wait = this.#clock - now;
    return wait > 1 ? sleep(wait, undefined, signal === undefined ? {} : { signal }) : undefined;
  }
}

/** No limit: takes never wait. */
const unlimitedBandwidth = {
  take: (_bytes: number, _signal?: AbortSignal): Promise<void> | undefined => undefined,
};

export type Bandwidth = Pick<BandwidthLimiter, "take">;

export function bandwidthFor(bytesPerSecond: number | null): Bandwidth {
  return bytesPerSecond === null ? unlimitedBandwidth : new BandwidthLimiter(bytesPerSecond);
}
