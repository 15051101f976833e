/**
 * A counting semaphore over bytes: the memory the transfer engine may hold for hashing
 * ranged parts that arrived ahead of the hash frontier (see in-order-hasher.ts).
 *
 * Waiters are served first come, first served. A waiter can give up when it no longer
 * needs the budget (its part became the one being hashed): `recheck()` re-asks every
 * waiter's `stillNeeded`.
 */
interface Waiter {
  readonly bytes: number;
  readonly stillNeeded: () => boolean;
  readonly resolve: (acquired: boolean) => void;
  readonly reject: (reason: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

export class ByteBudget {
  readonly capacity: number;
  #used = 0;
  #peak = 0;
  readonly #waiters: Waiter[] = [];

  constructor(capacity: number) {
    if (!(capacity > 0)) throw new RangeError(`byte budget must be positive, got ${capacity}`);
    this.capacity = capacity;
  }

  get used(): number {
    return this.#used;
  }

  /** Most bytes ever held at once (for tests and benchmarks). */
  get peak(): number {
    return this.#peak;
  }

  /**
   * Resolves true once `bytes` are reserved, or false as soon as `stillNeeded()` turns
   * false. A request larger than the whole budget is granted when nothing else is held,
   * so one oversized chunk cannot deadlock.
   */
  acquire(bytes: number, stillNeeded: () => boolean, signal?: AbortSignal): Promise<boolean> {
    if (!stillNeeded()) return Promise.resolve(false);
    if (this.#waiters.length === 0 && this.#fits(bytes)) {
      this.#take(bytes);
      return Promise.resolve(true);
    }
    signal?.throwIfAborted();
    return new Promise<boolean>((resolve, reject) => {
      const waiter: Waiter = {
        bytes,
        stillNeeded,
        resolve,
        reject,
        signal,
        onAbort: () => {
          this.#remove(waiter);
          reject(signal?.reason);
        },
      };
      signal?.addEventListener("abort", waiter.onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  release(bytes: number): void {
    this.#used -= bytes;
    if (this.#used < 0) throw new Error(`byte budget released more than it held (${this.#used})`);
    this.recheck();
  }

  /** Wakes waiters that fit now, and those that no longer need to wait. */
  recheck(): void {
    for (const waiter of [...this.#waiters]) {
      if (!waiter.stillNeeded()) {
        this.#settle(waiter, false);
      }
    }
    while (this.#waiters.length > 0) {
      const first = this.#waiters[0];
      if (first === undefined || !this.#fits(first.bytes)) break;
      this.#take(first.bytes);
      this.#settle(first, true);
    }
  }

  #fits(bytes: number): boolean {
    return this.#used + bytes <= this.capacity || this.#used === 0;
  }

  #take(bytes: number): void {
    this.#used += bytes;
    this.#peak = Math.max(this.#peak, this.#used);
  }

  #settle(waiter: Waiter, acquired: boolean): void {
    this.#remove(waiter);
    waiter.resolve(acquired);
  }

  #remove(waiter: Waiter): void {
    const index = this.#waiters.indexOf(waiter);
    if (index >= 0) this.#waiters.splice(index, 1);
    waiter.signal?.removeEventListener("abort", waiter.onAbort);
  }
}
