import type { DigestSink, FileDigests } from "./digests.js";
import type { SlabPool } from "./slab-pool.js";

/**
 * Feeds a file's bytes to its digests in file order, whatever order they arrive in,
 * without reading the file back.
 *
 * Streams hand over sealed slabs (contiguous bytes at a file position, see
 * slab-writer.ts). A slab that starts at the hash frontier is hashed at once, and so is
 * every slab queued right behind it; a slab further on (a ranged part ahead of the parts
 * before it) waits in memory. That memory is the SlabPool's, so it is bounded, and the
 * pool keeps a reserve for the stream at the frontier, so the frontier always moves.
 * Whenever the frontier moves the pool is told: a part waiting for a slab may have
 * become the frontier.
 */
interface Sealed {
  readonly bytes: Uint8Array;
  readonly consumed: () => void;
}

export class InOrderHasher {
  readonly #digests: DigestSink;
  readonly #pool: Pick<SlabPool, "recheck">;
  readonly #ahead = new Map<number, Sealed>();
  #frontier: number;
  #disposed = false;
  /** Slabs handed to the digests and not yet hashed (a hashing thread may lag behind). */
  #hashing = 0;
  readonly #drainWaiters: { readonly below: number; readonly resolve: () => void }[] = [];

  constructor(digests: DigestSink, pool: Pick<SlabPool, "recheck">, start = 0) {
    this.#digests = digests;
    this.#pool = pool;
    this.#frontier = start;
  }

  /** Offset of the first byte not hashed (nor on its way to the hash) yet. */
  get frontier(): number {
    return this.#frontier;
  }

  /** Slabs waiting for the frontier. */
  get slabsAhead(): number {
    return this.#ahead.size;
  }

  /** Slabs being hashed. */
  get slabsHashing(): number {
    return this.#hashing;
  }

  /**
   * Resolves once fewer than `limit` slabs are being hashed: the writers' back-pressure
   * when the hash (on another thread) is slower than the network.
   */
  hashingBelow(limit: number): Promise<void> | undefined {
    if (this.#hashing < limit) return undefined;
    return new Promise((resolve) => this.#drainWaiters.push({ below: limit, resolve }));
  }

  /** Bytes [position, position + bytes.length) of the file; `consumed` runs once they are hashed. */
  add(position: number, bytes: Uint8Array, consumed: () => void): void {
    if (this.#disposed || bytes.byteLength === 0) {
      consumed();
      return;
    }
    if (position < this.#frontier || this.#ahead.has(position)) {
      consumed();
      throw new Error(`bytes at ${position} were handed to the hash twice (frontier ${this.#frontier})`);
    }
    if (position > this.#frontier) {
      this.#ahead.set(position, { bytes, consumed });
      return;
    }
    this.#hash(bytes, consumed);
    for (let next = this.#ahead.get(this.#frontier); next !== undefined; next = this.#ahead.get(this.#frontier)) {
      this.#ahead.delete(this.#frontier);
      this.#hash(next.bytes, next.consumed);
    }
    this.#pool.recheck();
  }

  /** The digests, once every byte up to the frontier is hashed. Fails if bytes are still waiting. */
  async result(): Promise<FileDigests> {
    if (this.#ahead.size > 0) {
      throw new Error(`bytes after ${this.#frontier} arrived but the bytes before them did not`);
    }
    return this.#digests.result();
  }

  #hash(bytes: Uint8Array, consumed: () => void): void {
    this.#hashing += 1;
    this.#frontier += bytes.byteLength;
    this.#digests.update(bytes, () => {
      this.#hashing -= 1;
      consumed();
      for (const waiter of [...this.#drainWaiters]) {
        if (this.#hashing >= waiter.below) continue;
        this.#drainWaiters.splice(this.#drainWaiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    });
  }

  /** Drops everything held (on failure or abort): the slabs go back to the pool. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const sealed of this.#ahead.values()) sealed.consumed();
    this.#ahead.clear();
    this.#digests.dispose();
    this.#pool.recheck();
  }
}
