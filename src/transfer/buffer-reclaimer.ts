import { fullCollection } from "../util/full-collection.js";
import { logger } from "../util/log.js";

/**
 * Frees network buffers that are garbage but would stay in memory until the fetch ends.
 *
 * A socket read is a Buffer (up to 64 KiB over plain HTTP, a 16 KiB record over TLS)
 * whose bytes live outside V8's heap and are freed with the Buffer object. Most die young
 * and go at the next scavenge. But one that waits longer than two scavenges (≈ 20 ms at
 * 400 MiB/s with the package's 1 MiB semi-space) is promoted, and then only a full
 * collection frees its bytes: a part ahead of the hash frontier that waits for a slab
 * keeps what undici and its socket had already read. src/cli/main.ts turns incremental
 * marking off, so V8 collects the old generation only when its objects fill it, and a
 * fetch adds a few MB of objects to a heap of ~10 MB: no full collection came before the
 * end of 1 GiB over TLS, and the dead records it held took peak RSS from ≈ 118 MiB to as
 * much as 145 MiB. Over plain HTTP, with a quarter as many reads per byte, the peak hardly
 * moved.
 *
 * So every CHECK_INTERVAL_MS this looks at the bytes in ArrayBuffers outside the slab
 * pool, and when they have grown COLLECT_AFTER_GROWTH_BYTES above the lowest seen since
 * the last collection, asks V8 for one (5–15 ms on a heap this size, 1–5 per GiB over
 * TLS). That fetch then peaked at 117–124 MiB (median 120, against 129 without), in the
 * same CPU time (docs/bench.md, "Tenth round").
 */
const CHECK_INTERVAL_MS = 250;
const COLLECT_AFTER_GROWTH_BYTES = 8 * 1024 * 1024;

export interface MemoryProbes {
  /** Bytes in this thread's ArrayBuffers, those of the pool included. */
  readonly arrayBufferBytes: () => number;
  /** Bytes the slab pool has allocated (they are live, whatever a collection does). */
  readonly poolBytes: () => number;
  /** A full garbage collection, synchronous. */
  readonly collect: () => void;
}

export class BufferReclaimer {
  readonly #probes: MemoryProbes;
  readonly #growthBytes: number;
  /** The fewest bytes outside the pool since the last collection (or the start). */
  #floor: number;

  constructor(probes: MemoryProbes, growthBytes = COLLECT_AFTER_GROWTH_BYTES) {
    this.#probes = probes;
    this.#growthBytes = growthBytes;
    this.#floor = this.#outsidePool();
  }

  /** One look; collects when the bytes outside the pool grew enough. Returns the bytes freed, or undefined. */
  check(): number | undefined {
    const outside = this.#outsidePool();
    if (outside - this.#floor < this.#growthBytes) {
      this.#floor = Math.min(this.#floor, outside);
      return undefined;
    }
    this.#probes.collect();
    this.#floor = this.#outsidePool();
    return outside - this.#floor;
  }

  #outsidePool(): number {
    return this.#probes.arrayBufferBytes() - this.#probes.poolBytes();
  }
}

/**
 * Runs a BufferReclaimer for this process's memory while a transfer runs. Returns the
 * function that stops it; the timer is unref'd.
 */
export function reclaimBuffers(poolBytes: () => number): () => void {
  const reclaimer = new BufferReclaimer({
    arrayBufferBytes: () => process.memoryUsage().arrayBuffers,
    poolBytes,
    collect: () => fullCollection()(),
  });
  const timer = setInterval(() => {
    const started = performance.now();
    const freed = reclaimer.check();
    if (freed !== undefined) {
      const ms = (performance.now() - started).toFixed(0);
      logger.debug(`freed ${(freed / 2 ** 20).toFixed(0)} MiB of network buffers (a full collection, ${ms} ms)`);
    }
  }, CHECK_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
