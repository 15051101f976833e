import { unzeroed } from "./unzeroed.js";

/**
 * Xet chunks are 8-128 KiB, 64 KiB on average (chunking.ts). A chunk gets a buffer of its own
 * class or the one above (see `take`), so a buffer is less than 32 KiB larger than its chunk,
 * half an average chunk.
 */
const CLASS_BYTES = 16 * 1024;
/** How many classes above its own a chunk may take a free buffer from (see `take`). */
const CLASSES_UP = 1;

/**
 * Buffers for decoded Xet chunks, used again once nobody reads them. A chunk in a buffer of
 * its own lives from its decoding until the writer has copied it, long enough to outlive a
 * young-generation collection, so every decoded byte became old garbage outside V8's heap,
 * which V8 collects only once it has grown by its external limit (≈ 64 MiB). Xet's peak
 * memory was that garbage: 150 MiB for 256 MiB of weights, while the chunks alive at any
 * moment were ≈ 8 MiB (docs/bench.md, "Eighth round").
 *
 * Buffers come in classes of CLASS_BYTES; a chunk takes a free buffer of its class or the next
 * one up, or a new one of its class. Not any larger one: a small chunk kept in a 128 KiB buffer
 * would hold 16 times its size, and the budgets count chunks, not buffers. A buffer given back
 * goes on a free list while the lists hold at most `maxFreeBytes`, and to the garbage
 * collector otherwise. Free buffers of a class nobody takes are not evicted for others: the
 * sizes a file decodes are much the same from one range to the next. What is never given back
 * (a download cut short, a failure) is simply collected: giving back is how memory is saved,
 * not how it is kept correct.
 *
 * The one rule: give a chunk back once, and only when nothing will read it again. The pool
 * ignores a buffer it did not lend, and a second give while the buffer is still free; it cannot
 * tell a stale give after the buffer was lent again from the new borrower's, so that one would
 * hand the buffer to two chunks at once.
 */
export class ChunkPool {
  /** Free buffers by class: `free[n]` holds buffers of n × CLASS_BYTES. */
  readonly #free: Uint8Array[][] = [];
  readonly #lent = new WeakSet<ArrayBufferLike>();
  #freeBytes = 0;
  #lentBytes = 0;

  constructor(readonly maxFreeBytes: number) {}

  /** Bytes of the buffers lent and not given back (a buffer's whole class, not only what was asked). */
  get lentBytes(): number {
    return this.#lentBytes;
  }

  /** `size` bytes, not zeroed, of a buffer of the pool's; the caller writes them all before anyone reads them. */
  take(size: number): Uint8Array {
    const wanted = Math.max(1, Math.ceil(size / CLASS_BYTES));
    const highest = Math.min(wanted + CLASSES_UP, this.#free.length - 1);
    for (let sizeClass = wanted; sizeClass <= highest; sizeClass++) {
      const buffer = this.#free[sizeClass]?.pop();
      if (buffer === undefined) continue;
      this.#freeBytes -= buffer.length;
      return this.#lend(buffer, size);
    }
    return this.#lend(unzeroed(wanted * CLASS_BYTES), size);
  }

  #lend(buffer: Uint8Array, size: number): Uint8Array {
    this.#lent.add(buffer.buffer);
    this.#lentBytes += buffer.length;
    return buffer.subarray(0, size);
  }

  /** Takes back the buffer `chunk` (from `take`) is part of; nothing may read it afterwards. */
  give(chunk: Uint8Array): void {
    const buffer = chunk.buffer;
    if (!this.#lent.delete(buffer)) return;
    this.#lentBytes -= buffer.byteLength;
    if (this.#freeBytes + buffer.byteLength > this.maxFreeBytes) return;
    this.#freeBytes += buffer.byteLength;
    const sizeClass = buffer.byteLength / CLASS_BYTES;
    const free = this.#free[sizeClass] ?? [];
    this.#free[sizeClass] = free;
    free.push(new Uint8Array(buffer));
  }
}

/** A pool that keeps nothing: every buffer goes to the garbage collector, as if there were none. */
export const UNPOOLED = new ChunkPool(0);
