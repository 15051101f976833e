import type { ByteBudget } from "./byte-budget.js";
import type { StreamingDigests } from "./digests.js";

/**
 * Feeds the bytes of a file downloaded in parallel ranged parts to its digests in file
 * order, without reading the file back.
 *
 * The part that contains the hash frontier (the "head") is hashed as it arrives. Bytes
 * of later parts are written to disk at once but also kept in memory until the frontier
 * reaches them; those bytes are charged to a ByteBudget shared by the whole fetch. When
 * the budget is spent, a later part's next chunk waits (its reader stops reading, and
 * TCP slows its sender) until the head moves on and frees memory, or until that part
 * becomes the head itself, which never waits. So memory held for hashing never exceeds
 * the budget, whatever the file size, and the head always makes progress.
 *
 * Why the head can always run: parts of a file are scheduled first to last, so the head
 * was given its connection before any later part of the same file.
 */
interface PartState {
  /** Chunks received ahead of the frontier, in order. */
  readonly pending: Uint8Array[];
  pendingBytes: number;
  complete: boolean;
}

export class InOrderHasher {
  readonly #digests: StreamingDigests;
  readonly #budget: ByteBudget;
  readonly #parts: PartState[];
  #head = 0;
  #disposed = false;

  constructor(digests: StreamingDigests, partCount: number, budget: ByteBudget) {
    this.#digests = digests;
    this.#budget = budget;
    this.#parts = Array.from({ length: partCount }, () => ({ pending: [], pendingBytes: 0, complete: false }));
  }

  /** Index of the part being hashed; equals the part count once every byte is hashed. */
  get head(): number {
    return this.#head;
  }

  /**
   * The next chunk of part `index` (chunks of one part arrive in order). Resolves once the
   * chunk is hashed or held in memory; waits while the budget is spent.
   */
  async push(index: number, chunk: Uint8Array, signal?: AbortSignal): Promise<void> {
    const part = this.#part(index);
    if (part.complete) throw new Error(`part ${index} received bytes after it was complete`);
    if (index === this.#head) {
      this.#digests.update(chunk);
      return;
    }
    const reserved = await this.#budget.acquire(chunk.byteLength, () => index !== this.#head && !this.#disposed, signal);
    if (this.#disposed) {
      if (reserved) this.#budget.release(chunk.byteLength);
      return;
    }
    if (index === this.#head) {
      // Became the head while waiting: its earlier chunks were flushed, so this one goes next.
      if (reserved) this.#budget.release(chunk.byteLength);
      this.#digests.update(chunk);
      return;
    }
    part.pending.push(chunk);
    part.pendingBytes += chunk.byteLength;
  }

  /** Part `index` has received all its bytes. */
  complete(index: number): void {
    this.#part(index).complete = true;
    if (index === this.#head) this.#advance();
  }

  /** Every byte of every part has been hashed. */
  get done(): boolean {
    return this.#head >= this.#parts.length;
  }

  /** Drops everything held (on failure or abort) and returns its budget. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    let held = 0;
    for (const part of this.#parts) {
      held += part.pendingBytes;
      part.pending.length = 0;
      part.pendingBytes = 0;
    }
    if (held > 0) this.#budget.release(held);
    else this.#budget.recheck();
  }

  #advance(): void {
    while (this.#head < this.#parts.length && this.#part(this.#head).complete) {
      this.#head += 1;
      if (this.#head < this.#parts.length) this.#flush(this.#part(this.#head));
    }
    // The new head's waiting chunk no longer needs budget; others may fit in what was freed.
    this.#budget.recheck();
  }

  #flush(part: PartState): void {
    for (const chunk of part.pending) this.#digests.update(chunk);
    const freed = part.pendingBytes;
    part.pending.length = 0;
    part.pendingBytes = 0;
    if (freed > 0) this.#budget.release(freed);
  }

  #part(index: number): PartState {
    const part = this.#parts[index];
    if (part === undefined) throw new RangeError(`no part ${index}`);
    return part;
  }
}
