import { TransferFailure } from "../errors/failures.js";

/**
 * The low-speed limit of one connection, as curl's --speed-limit/--speed-time (which Nix's
 * own downloader sets: 1 byte/s over `stalled-download-timeout`): a connection that receives
 * less than `limitBytesPerSec` on average over `timeMs` of waiting for the network is cut
 * with a retryable failure. A server sending one byte every two seconds, or a few bytes and
 * then nothing, no longer keeps a download alive for days; the read timeout alone only
 * notices total silence.
 *
 * Only time spent waiting for the network counts: while the receiving loop waits for the
 * bandwidth cap, the disk or the hash (our own back-pressure, e.g. a part ahead of the hash
 * frontier waiting for a slab), the clock stops. The loop calls `waiting()` before it asks
 * for the next chunk and `received()` when one arrives; two clock reads per chunk, no timer
 * per chunk. A timer (at most once a second) catches a connection that sends nothing at all.
 *
 * An attempt whose average over its whole life is below the limit made no progress in the
 * retry loop's sense (`madeProgress`), whatever bytes it got: slow attempts use up the
 * retries instead of resetting them, so "a few bytes, then silence" on every connection
 * ends after `maxAttempts` connections.
 */
export interface LowSpeedLimit {
  /** Bytes per second; 0 turns the limit off. */
  readonly limitBytesPerSec: number;
  /** The window, in milliseconds of waiting for the network. */
  readonly timeMs: number;
}

const CHECK_INTERVAL_MS = 1_000;

export class LowSpeedWatch {
  readonly #limit: LowSpeedLimit;
  readonly #tooSlow: (failure: TransferFailure) => void;
  readonly #timer: NodeJS.Timeout | undefined;
  #waitingSince: number | undefined;
  #windowWaitMs = 0;
  #windowBytes = 0;
  #totalWaitMs = 0;
  #totalBytes = 0;
  #slow = false;

  /** `tooSlow` is called once, when the connection must be cut (by aborting its request). */
  constructor(limit: LowSpeedLimit, tooSlow: (failure: TransferFailure) => void) {
    this.#limit = limit;
    this.#tooSlow = tooSlow;
    if (limit.limitBytesPerSec > 0) {
      this.#timer = setInterval(() => this.#check(), Math.min(CHECK_INTERVAL_MS, limit.timeMs / 4));
      this.#timer.unref();
    }
  }

  /** The loop is about to wait for the network (the request, or the next chunk). */
  waiting(): void {
    this.#waitingSince ??= performance.now();
  }

  /** A chunk of `bytes` arrived. */
  received(bytes: number): void {
    this.#stopWaiting();
    this.#windowBytes += bytes;
    this.#totalBytes += bytes;
    if (this.#windowWaitMs >= this.#limit.timeMs) this.#judgeWindow();
  }

  /** Bytes arrived, at no less than the limit on average: what counts as progress for retries. */
  madeProgress(): boolean {
    this.#stopWaiting();
    return (
      this.#totalBytes > 0 &&
      !this.#slow &&
      this.#totalBytes >= (this.#limit.limitBytesPerSec * this.#totalWaitMs) / 1000
    );
  }

  stop(): void {
    this.#stopWaiting();
    if (this.#timer !== undefined) clearInterval(this.#timer);
  }

  #stopWaiting(): void {
    if (this.#waitingSince === undefined) return;
    const waited = performance.now() - this.#waitingSince;
    this.#waitingSince = undefined;
    this.#windowWaitMs += waited;
    this.#totalWaitMs += waited;
  }

  #check(): void {
    if (this.#slow || this.#waitingSince === undefined) return;
    if (this.#windowWaitMs + (performance.now() - this.#waitingSince) < this.#limit.timeMs) return;
    // Still waiting: the window closes now, and the wait goes on in the next one.
    this.#stopWaiting();
    this.#judgeWindow();
    if (!this.#slow) this.waiting();
  }

  #judgeWindow(): void {
    const seconds = this.#windowWaitMs / 1000;
    if (this.#windowBytes >= this.#limit.limitBytesPerSec * seconds) {
      this.#windowWaitMs = 0;
      this.#windowBytes = 0;
      return;
    }
    this.#slow = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#tooSlow(
      new TransferFailure(
        `too slow: ${this.#windowBytes} bytes in ${seconds.toFixed(0)} s, below the low-speed limit of ` +
          `${this.#limit.limitBytesPerSec} bytes/s over ${(this.#limit.timeMs / 1000).toFixed(0)} s`,
        { retryable: true, code: "NMR_NETWORK" },
      ),
    );
  }
}
