/**
 * The memory every byte passes through between the network and the disk and the hash:
 * fixed-size slabs, reused for the whole fetch, at most `capacityBytes` in all (the
 * engine's hashBufferBytes).
 *
 * Why slabs instead of keeping the network's chunks: a 64 KiB chunk held for a while (a
 * part ahead of the hash frontier waits for the parts before it) outlives V8's young
 * generation, and every such Buffer then costs a full mark-compact to free: 1 GiB in
 * parallel parts caused ~55 full GCs and ~1.2 s of marking on other cores. Copying each
 * chunk once into a reused slab lets the chunk die young; the copy replaces the
 * Buffer.concat the write path made anyway. Slabs are SharedArrayBuffers so a hashing
 * thread can read them without another copy (hash-workers.ts).
 *
 * Two kinds of takers: a stream at its file's hash frontier (its bytes are hashed as
 * soon as they are sealed, so its slabs come back without waiting for anything), and a
 * part ahead of the frontier (its slabs stay until the parts before it are done).
 * `reserve` slabs are kept for frontier streams: parts ahead can never take the last
 * slabs, so the frontier always moves and the whole fetch cannot deadlock.
 */
export interface Slab {
  /** The whole slab; callers fill a prefix. */
  readonly bytes: Uint8Array;
}

interface Waiter {
  readonly atFrontier: () => boolean;
  readonly resolve: (slab: Slab) => void;
  readonly reject: (reason: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

/**
 * Just under 1 MiB: one positional write and one message to the hashing thread per slab.
 * Each is a wake-up of another thread, which on a busy machine costs a context switch:
 * 1 GiB took ~7 % less CPU in 1 MiB slabs than in 512 KiB ones (6 interleaved runs, twice).
 * Never a whole power of two: the kernel sizes page-cache folios by the write (ext4 on
 * 6.x), a 512 KiB write at a 512 KiB boundary gets a 512 KiB folio, and on the bench VM,
 * whose free memory in 2 MiB blocks the host has reclaimed (page_reporting_order 9), those
 * cost 3–6× the system time: 1 GiB of 64 KiB-aligned chunks took 0.9–1.8 s of system time
 * in 512 KiB slabs, 0.29–0.36 s in slabs one byte smaller. Slabs also end at chunk
 * boundaries (slab-writer.ts), so no write is whole and aligned.
 */
const DEFAULT_SLAB_BYTES = 1024 * 1024 - 1;

/**
 * A fetch whose files add up to less than this gets slabs of SMALL_FETCH_SLAB_BYTES. Every
 * slab's memory is new to the process the first time it is filled, and each of its pages
 * then costs a page fault: ≈ 3 ms per MiB on the bench VM, whose host has taken back the
 * free memory (24 MiB touched for the first time: 75 ms; again: 1.4 ms). A fetch of 504
 * small files and four of 4 MiB filled 10–12 slabs, ≈ 11 MiB, for 20 MiB of files. Smaller
 * slabs mean fewer bytes in flight to fault in, at the cost of a write and a hash call
 * per 256 KiB instead of per 1 MiB, which only a large fetch notices (docs/bench.md,
 * "Eleventh round"). Still one byte short of a power of two, for the reason above.
 */
const SMALL_FETCH_BYTES = 64 * 1024 * 1024;
const SMALL_FETCH_SLAB_BYTES = 256 * 1024 - 1;

/**
 * The slab size for a pool of `capacityBytes` serving a fetch of `fetchBytes` in all
 * (undefined: some size is not known, so the fetch may be large): DEFAULT_SLAB_BYTES, or
 * SMALL_FETCH_SLAB_BYTES for a small fetch, and never more than a 16th of the capacity.
 */
export function slabBytesFor(capacityBytes: number, fetchBytes: number | undefined): number {
  const largest =
    fetchBytes !== undefined && fetchBytes < SMALL_FETCH_BYTES ? SMALL_FETCH_SLAB_BYTES : DEFAULT_SLAB_BYTES;
  return Math.min(largest, Math.max(4096, Math.floor(capacityBytes / 16)));
}

export class SlabPool {
  readonly slabBytes: number;
  /** Most slabs that ever exist at once. */
  readonly maxSlabs: number;
  /** Slabs only a stream at its file's hash frontier may take. */
  readonly reserve: number;
  readonly #free: Slab[] = [];
  #allocated = 0;
  #inUse = 0;
  #peak = 0;
  readonly #waiters: Waiter[] = [];

  /** Slabs are `slabBytes` (default just under 1 MiB, less when the capacity is small: slabBytesFor). */
  constructor(capacityBytes: number, slabBytes = slabBytesFor(capacityBytes, undefined)) {
    if (!(capacityBytes > 0)) throw new RangeError(`slab pool capacity must be positive, got ${capacityBytes}`);
    if (!(slabBytes > 0)) throw new RangeError(`slab size must be positive, got ${slabBytes}`);
    this.slabBytes = slabBytes;
    this.maxSlabs = Math.max(1, Math.floor(capacityBytes / slabBytes));
    this.reserve = Math.min(this.maxSlabs, Math.max(1, Math.floor(this.maxSlabs / 8)));
  }

  /** Slabs handed out and not yet released. */
  get inUse(): number {
    return this.#inUse;
  }

  /** Most slabs ever handed out at once (for tests and benchmarks). */
  get peak(): number {
    return this.#peak;
  }

  /** Bytes of slab memory allocated so far (slabs are allocated on first need and kept). */
  get allocatedBytes(): number {
    return this.#allocated * this.slabBytes;
  }

  /**
   * A slab, as soon as one may be given: at once while fewer than `maxSlabs − reserve`
   * are in use, from the reserve only while `atFrontier()` (asked again whenever slabs
   * come back or `recheck()` is called: a waiting part becomes the frontier when the
   * parts before it finish).
   */
  acquire(atFrontier: () => boolean, signal?: AbortSignal): Promise<Slab> {
    signal?.throwIfAborted();
    if (this.#mayTake(atFrontier) && (this.#waiters.length === 0 || atFrontier())) return Promise.resolve(this.#take());
    return new Promise<Slab>((resolve, reject) => {
      const waiter: Waiter = {
        atFrontier,
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

  release(slab: Slab): void {
    if (this.#inUse <= 0) throw new Error("slab pool: released more slabs than were taken");
    this.#inUse -= 1;
    this.#free.push(slab);
    this.recheck();
  }

  /** Serves waiters that may take a slab now: frontier streams first, then the rest in order. */
  recheck(): void {
    while (this.#waiters.length > 0 && this.#inUse < this.maxSlabs) {
      const waiter = this.#waiters.find((candidate) => candidate.atFrontier()) ?? this.#waiters[0];
      if (waiter === undefined || !this.#mayTake(waiter.atFrontier)) return;
      this.#remove(waiter);
      waiter.resolve(this.#take());
    }
  }

  #mayTake(atFrontier: () => boolean): boolean {
    if (this.#inUse >= this.maxSlabs) return false;
    return this.#inUse < this.maxSlabs - this.reserve || atFrontier();
  }

  #take(): Slab {
    let slab = this.#free.pop();
    if (slab === undefined) {
      slab = { bytes: new Uint8Array(new SharedArrayBuffer(this.slabBytes)) };
      this.#allocated += 1;
    }
    this.#inUse += 1;
    this.#peak = Math.max(this.#peak, this.#inUse);
    return slab;
  }

  #remove(waiter: Waiter): void {
    const index = this.#waiters.indexOf(waiter);
    if (index >= 0) this.#waiters.splice(index, 1);
    waiter.signal?.removeEventListener("abort", waiter.onAbort);
  }
}
