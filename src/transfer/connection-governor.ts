/** How the slots are used at a tick. */
export interface SlotUse {
  /** Every slot has a connection. */
  readonly allBusy: boolean;
  /** Work is queued for a slot. */
  readonly waiting: boolean;
}

export interface GovernorLimits {
  /** Slots at the start; never fewer. */
  readonly start: number;
  /** Never more slots than this (`network.concurrency`). */
  readonly max: number;
  /** Slots added per probe. */
  readonly step: number;
  /** A probe is kept when throughput grew by at least this factor. */
  readonly gain: number;
}

type Phase =
  /** The window now open is not measured: slots just changed, or some were idle. */
  | "warming-up"
  /** The window now open is measured at the current count. */
  | "measuring"
  /** Probing is over for this transfer. */
  | "settled";

/**
 * How many connections a fetch uses, between a starting count and `network.concurrency`.
 *
 * A CDN that caps each connection's rate (nginx `limit_rate`, long-distance TCP) rewards
 * more connections; a link the CPU already saturates (loopback, a LAN at 10 Gbit) does
 * not, and each connection costs memory and CPU there. So the engine starts with a few
 * and probes: throughput at the current count, then `step` more slots, one window skipped
 * (new connections ramp up), one window measured. The step is kept if it brought at least
 * `gain` times the throughput, and the next one is tried; otherwise the previous count
 * comes back and the probing stops for the rest of the transfer.
 *
 * A count is only probed from once its throughput is steady: a measured window under
 * `gain` times the one before it at the same count. A transfer speeds up for a second or
 * so by itself (handshakes, parts starting together, the JIT): 1 GiB over TLS on loopback
 * ran 342, 460, 516, 505 MiB/s in its first windows on a fixed 8 connections. Judged
 * against the 342, a step to 12 looked like a 1.35× gain and was kept (and 16 tried),
 * though the link gives no more: waiting for the plateau made that fetch 0.90× the wall
 * time and 0.86× the CPU. Each probe starts one window later: 256 MiB through the
 * rate-limited CDN, where 12 do pay, took 1.06× as long (docs/bench.md, "Tenth round").
 *
 * A window is only measured while every slot is busy (at both of its ends; the last parts
 * of a file, a handful of small files leave slots idle: the throughput then says nothing
 * about the count), and slots are only added while work waits for one: more slots could
 * not pay otherwise.
 *
 * A pure state machine: the caller counts bytes with `received` and calls `tick` with its
 * own clock; each tick closes a window.
 */
export class ConnectionGovernor {
  readonly #limits: GovernorLimits;
  #slots: number;
  #phase: Phase;
  /** The count before the last raise, while that raise is not yet judged. */
  #before: number | undefined;
  /** Bytes per ms measured at `#before` (when judging) or at `#slots`. */
  #baseline = 0;
  /** The window before the one now open was measured at the current count (its rate is `#baseline`). */
  #measuredBefore = false;
  #windowStart: number;
  #windowBytes = 0;

  constructor(limits: GovernorLimits, nowMs: number) {
    if (!(limits.start >= 1 && limits.max >= limits.start && limits.step >= 1 && limits.gain > 1)) {
      throw new RangeError(`unusable connection limits: ${JSON.stringify(limits)}`);
    }
    this.#limits = limits;
    this.#slots = limits.start;
    this.#phase = limits.max > limits.start ? "warming-up" : "settled";
    this.#windowStart = nowMs;
  }

  get slots(): number {
    return this.#slots;
  }

  /** The throughput the current count is judged against, bytes per ms (0 before the first measurement). */
  get baselineBytesPerMs(): number {
    return this.#baseline;
  }

  get settled(): boolean {
    return this.#phase === "settled";
  }

  /** Bytes that arrived on any connection. */
  received(bytes: number): void {
    this.#windowBytes += bytes;
  }

  /** Closes the window open since the last tick. Returns the new slot count when it changes. */
  tick(nowMs: number, use: SlotUse): number | undefined {
    const elapsed = nowMs - this.#windowStart;
    const rate = elapsed > 0 ? this.#windowBytes / elapsed : 0;
    this.#windowStart = nowMs;
    this.#windowBytes = 0;
    if (this.#phase === "settled") return undefined;
    if (!use.allBusy || elapsed <= 0) {
      // The window that follows starts with idle slots: it cannot be measured either.
      this.#warmUp();
      return undefined;
    }
    if (this.#phase === "warming-up") {
      this.#phase = "measuring";
      return undefined;
    }
    if (this.#before !== undefined) return this.#judge(rate, this.#before);
    // Still speeding up by itself (or the first measurement): measure again before a step.
    const steady = this.#measuredBefore && rate < this.#limits.gain * this.#baseline;
    this.#measured(rate);
    if (!steady) return undefined;
    // Nothing for more slots to do: measure again next window.
    if (!use.waiting) return undefined;
    this.#before = this.#slots;
    this.#slots = Math.min(this.#limits.max, this.#slots + this.#limits.step);
    this.#warmUp();
    return this.#slots;
  }

  /** The first measured window after a raise: keep the step if it paid, else go back and stop. */
  #judge(rate: number, before: number): number | undefined {
    this.#before = undefined;
    if (rate < this.#limits.gain * this.#baseline) {
      this.#slots = before;
      this.#phase = "settled";
      return this.#slots;
    }
    this.#measured(rate);
    if (this.#slots >= this.#limits.max) this.#phase = "settled";
    return undefined;
  }

  /** The next window is skipped (connections ramp up), and the one after it has no measured window before it. */
  #warmUp(): void {
    this.#phase = "warming-up";
    this.#measuredBefore = false;
  }

  /** The window just closed was measured at the current count: the next is compared with it. */
  #measured(rate: number): void {
    this.#baseline = rate;
    this.#measuredBefore = true;
  }
}
