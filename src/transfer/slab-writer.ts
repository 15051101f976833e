import type { IncompleteFile } from "./incomplete-file.js";
import type { InOrderHasher } from "./in-order-hasher.js";
import type { Slab, SlabPool } from "./slab-pool.js";

/**
 * The write path of one stream (a whole file, or one ranged part): network chunks are
 * copied into a slab; a slab that cannot take the next chunk is sealed, which starts its
 * positional write and hands it to the file's InOrderHasher at once, so the disk, the
 * hash and the socket all proceed while the next slab fills. The slab goes back to the
 * pool when it is both written and hashed.
 *
 * The copy is the only one a byte makes in user space after undici: no Buffer.concat,
 * and no network Buffer is kept beyond the call (see slab-pool.ts for why that matters).
 * `write` returns undefined when it needed no slab from the pool, so the caller's loop
 * awaits nothing per chunk in the common case.
 *
 * A stream takes no new slab while `maxInFlight` of its slabs are being written, or
 * `maxInFlight` of its file's slabs are being hashed: when the disk or the hash is
 * slower than the network, the stream stops reading (TCP slows the sender) instead of
 * filling the pool, so a stream at the frontier holds at most 2 × maxInFlight + 1 slabs.
 * Parts ahead of the frontier hold more: their slabs wait for the parts before them.
 */
export class SlabWriter {
  readonly #file: IncompleteFile;
  readonly #pool: SlabPool;
  readonly #hasher: InOrderHasher;
  readonly #signal: AbortSignal | undefined;
  #slab: Slab | undefined;
  #filled = 0;
  /** File offset of the current slab's first byte. */
  #slabPosition: number;
  readonly #writes = new Set<Promise<void>>();
  #failure: unknown;
  #failed = false;
  readonly #maxInFlight: number;

  constructor(
    file: IncompleteFile,
    pool: SlabPool,
    hasher: InOrderHasher,
    position: number,
    signal?: AbortSignal,
    // Two slabs being written and two being hashed keep the disk and the hashing thread
    // busy while the next slab fills (2 MiB each way with the default ~1 MiB slabs).
    maxInFlight = 2,
  ) {
    this.#maxInFlight = maxInFlight;
    this.#file = file;
    this.#pool = pool;
    this.#hasher = hasher;
    this.#slabPosition = position;
    this.#signal = signal;
  }

  /** File offset of the next byte written. */
  get position(): number {
    return this.#slabPosition + this.#filled;
  }

  /** Takes `chunk` (copied: the caller may reuse it). Resolves at once unless a slab must be waited for. */
  write(chunk: Uint8Array): Promise<void> | undefined {
    this.#throwIfFailed();
    return this.#copy(chunk, 0);
  }

  /** Everything written so far is on disk and handed to the hash (or the first write error is thrown). */
  async flush(): Promise<void> {
    const slab = this.#slab;
    if (slab !== undefined) {
      if (this.#filled > 0) this.#seal();
      else {
        this.#slab = undefined;
        this.#pool.release(slab);
      }
    }
    while (this.#writes.size > 0) await Promise.all(this.#writes);
    this.#throwIfFailed();
  }

  #copy(chunk: Uint8Array, start: number): Promise<void> | undefined {
    let offset = start;
    while (offset < chunk.byteLength) {
      let slab = this.#slab;
      // A slab ends where a chunk ends (only a chunk larger than a slab is split), so
      // writes start at chunk boundaries, as before slabs. Slabs filled to the byte cost
      // more here: 1.5 s more system time per GiB with 512 KiB slabs (whole aligned
      // 512 KiB writes, see DEFAULT_SLAB_BYTES), 0.1–0.3 s more CPU with 508 KiB ones.
      if (slab !== undefined && this.#filled > 0 && slab.bytes.byteLength - this.#filled < chunk.byteLength - offset) {
        this.#seal();
        slab = undefined;
      }
      // Once per slab, not per chunk.
      if (slab === undefined) return this.#acquire().then(() => this.#copy(chunk, offset));
      const count = Math.min(slab.bytes.byteLength - this.#filled, chunk.byteLength - offset);
      slab.bytes.set(
        offset === 0 && count === chunk.byteLength ? chunk : chunk.subarray(offset, offset + count),
        this.#filled,
      );
      this.#filled += count;
      offset += count;
      if (this.#filled === slab.bytes.byteLength) this.#seal();
    }
    return undefined;
  }

  async #acquire(): Promise<void> {
    while (this.#writes.size >= this.#maxInFlight) await Promise.race(this.#writes);
    await this.#hasher.hashingBelow(this.#maxInFlight);
    this.#throwIfFailed();
    // This stream's next slab starts at #slabPosition: it is at the frontier once every byte before it is hashed.
    this.#slab = await this.#pool.acquire(() => this.#hasher.frontier >= this.#slabPosition, this.#signal);
  }

  #seal(): void {
    const slab = this.#slab;
    if (slab === undefined || this.#filled === 0) return;
    const bytes = slab.bytes.subarray(0, this.#filled);
    const position = this.#slabPosition;
    this.#slab = undefined;
    this.#slabPosition += this.#filled;
    this.#filled = 0;

    let outstanding = 2;
    const done = () => {
      outstanding -= 1;
      if (outstanding === 0) this.#pool.release(slab);
    };
    const write = this.#file.write(bytes, position).then(done, (error: unknown) => {
      if (!this.#failed) {
        this.#failed = true;
        this.#failure = error;
      }
      done();
    });
    this.#writes.add(write);
    void write.then(() => this.#writes.delete(write));
    this.#hasher.add(position, bytes, done);
  }

  #throwIfFailed(): void {
    if (this.#failed) throw this.#failure;
  }
}
