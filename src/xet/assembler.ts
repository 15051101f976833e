import { ChunkStreamDecoder } from "./chunk-stream.js";
import { XetFormatError } from "./errors.js";
import type { DownloadPlan, PlannedFetch } from "./planner.js";
import type { XorbFetch } from "./reconstruction.js";

/**
 * Downloads a plan's ranges and yields the file's bytes in order. The HTTP part is injected:
 * `fetchRange` gets the body of `GET fetch.url` with `Range: bytes=<fetch.bytes>` and hands
 * it to `receive` piece by piece (it may retry or resume inside, or swap in a fresher URL for
 * the same range after a 403, as long as every byte is handed over once, in order); an error
 * `receive` throws must end it. Ranges are fetched in order of first use, several at a
 * time, and decoded as their bytes arrive; the range the writer is on is yielded chunk by chunk
 * as it decodes, so the writer, the hash and the network overlap.
 *
 * Memory: decoded chunks are kept only for chunk ranges a term reads, and each is dropped after
 * the last term that reads it. A range is started only while the bytes reserved for ranges not
 * yet released (each range reserves its `keptBytesBound`) stay within `maxBufferedBytes`, except
 * the range the next term needs, which always starts. So at most max(maxBufferedBytes, the
 * largest single range's bound) of decoded data is held — a range's bound is at most a xorb's
 * 64 MiB of data (planner.ts) — plus, per range in flight, one partial chunk (≤ 264 KiB) and
 * one piece from `fetchRange`. A range never waits for the writer: one that holds a connection
 * always finishes, so ranges of several files sharing connection slots cannot deadlock.
 *
 * The yielded arrays may be views of chunks a later term reads again: treat them as read-only.
 */

export type RangeFetcher = (
  fetch: PlannedFetch,
  receive: (piece: Uint8Array) => void,
  signal: AbortSignal,
) => Promise<void>;

export interface AssembleOptions {
  readonly fetchRange: RangeFetcher;
  /** Ranges in flight at once; default 4 (xet-core's initial download concurrency). */
  readonly concurrency?: number;
  /** Budget for decoded data held ahead of the writer; default 128 MiB. Ignored when `budget` is given. */
  readonly maxBufferedBytes?: number;
  /** A budget shared with other files assembled at the same time (see BufferBudget). */
  readonly budget?: BufferBudget;
  readonly signal?: AbortSignal;
}

const DEFAULT_CONCURRENCY = 4;
const DEFAULT_MAX_BUFFERED_BYTES = 128 * 1024 * 1024;

/**
 * Decoded bytes reserved for ranges not yet released, for one file or shared by several
 * assembled at once. A range is reserved before it starts and released after the last term
 * that reads it; a file's next needed range is always let through (`force`), so a file never
 * waits for another's buffers to drain: the bound is the limit plus one range per file.
 */
export class BufferBudget {
  #reserved = 0;
  readonly #waiting = new Set<() => void>();

  constructor(readonly limit: number) {}

  get reserved(): number {
    return this.#reserved;
  }

  /** Reserves `bytes` if they fit (or nothing is reserved, or `force`); false otherwise. */
  tryReserve(bytes: number, force: boolean): boolean {
    if (!force && this.#reserved > 0 && this.#reserved + bytes > this.limit) return false;
    this.#reserved += bytes;
    return true;
  }

  release(bytes: number): void {
    this.#reserved -= bytes;
    for (const wake of [...this.#waiting]) wake();
  }

  /** Calls `wake` after each release until the returned function is called. */
  onRelease(wake: () => void): () => void {
    this.#waiting.add(wake);
    return () => this.#waiting.delete(wake);
  }
}

class FetchState {
  readonly chunks = new Map<number, Uint8Array>();
  done: Promise<void> | undefined;
  settled = false;
  #wake: (() => void) | undefined;

  /** Called by the download whenever chunks arrived or it ended. */
  changed(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Resolves at the next change (the caller checks what it waits for first). */
  nextChange(): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }
}

export const describeFetch = (fetch: XorbFetch) =>
  `xorb ${fetch.xorb.slice(0, 12)}… bytes ${fetch.bytes.start}-${fetch.bytes.end}`;

async function downloadRange(fetch: PlannedFetch, state: FetchState, options: AssembleOptions, signal: AbortSignal) {
  const label = describeFetch(fetch);
  const decoder = new ChunkStreamDecoder(label, fetch.chunks.start, fetch.chunks.end);
  const expected = fetch.bytes.end - fetch.bytes.start + 1;
  const kept = (index: number) => fetch.keep.some((range) => range.start <= index && index < range.end);
  let received = 0;
  let keptBytes = 0;
  const receive = (piece: Uint8Array) => {
    received += piece.length;
    if (received > expected) {
      throw new XetFormatError("chunk-stream", `${label}: the server sent more than the ${expected} bytes asked for`);
    }
    let arrived = false;
    for (const chunk of decoder.push(piece)) {
      if (!kept(chunk.index)) continue;
      keptBytes += chunk.data.length;
      if (keptBytes > fetch.keptBytesBound) {
        throw new XetFormatError(
          "term-length",
          `${label}: the chunks its terms read decode to more than their ${fetch.keptBytesBound} bytes of unpacked_length`,
        );
      }
      state.chunks.set(chunk.index, chunk.data);
      arrived = true;
    }
    if (arrived) state.changed();
  };
  await options.fetchRange(fetch, receive, signal);
  if (received !== expected) {
    throw new XetFormatError(
      "chunk-stream",
      `${label}: the server sent ${received} of the ${expected} bytes asked for`,
    );
  }
  decoder.finish();
}

/** For each fetch, the last term that reads each of its chunks (by chunk index − fetch start). */
function lastReaders(plan: DownloadPlan): Int32Array[] {
  const readers = plan.fetches.map((fetch) => new Int32Array(fetch.chunks.end - fetch.chunks.start).fill(-1));
  plan.terms.forEach((term, index) => {
    const start = plan.fetches[term.fetch]!.chunks.start;
    readers[term.fetch]!.fill(index, term.chunks.start - start, term.chunks.end - start);
  });
  return readers;
}

export async function* assembleFile(plan: DownloadPlan, options: AssembleOptions): AsyncGenerator<Uint8Array> {
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
  const budget = options.budget ?? new BufferBudget(options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES);
  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const states = plan.fetches.map(() => new FetchState());
  const lastReader = lastReaders(plan);
  const releaseAfter = new Map<number, number[]>();
  for (const [index, fetch] of plan.fetches.entries()) {
    releaseAfter.set(fetch.lastTerm, [...(releaseAfter.get(fetch.lastTerm) ?? []), index]);
  }
  let nextToStart = 0;
  let running = 0;
  /** Bytes this file holds reserved in the budget, given back however it ends. */
  let reserved = 0;
  let firstError: unknown;

  const start = (index: number) => {
    const fetch = plan.fetches[index]!;
    const state = states[index]!;
    running += 1;
    const done = downloadRange(fetch, state, options, controller.signal).finally(() => {
      running -= 1;
      state.settled = true;
      state.changed();
      pump(undefined);
    });
    done.catch((error: unknown) => {
      firstError ??= error;
      controller.abort(); // one failed range stops the others
    });
    state.done = done;
  };
  const pump = (needed: number | undefined) => {
    while (nextToStart < plan.fetches.length && running < concurrency && !controller.signal.aborted) {
      const bound = plan.fetches[nextToStart]!.keptBytesBound;
      if (!budget.tryReserve(bound, nextToStart === needed)) break;
      reserved += bound;
      start(nextToStart++);
    }
  };
  const stopWaking = budget.onRelease(() => pump(undefined));
  /** Chunk `index` of the fetch, once it has arrived; the fetch's own failure (or the first) if it never does. */
  const chunkOf = async (state: FetchState, index: number): Promise<Uint8Array> => {
    for (;;) {
      const data = state.chunks.get(index);
      if (data !== undefined) return data;
      if (state.settled) {
        // A range aborted because another failed reports that other failure, the real cause.
        await state.done!.catch((error: unknown) => {
          throw firstError ?? error;
        });
        throw new Error(`internal error: chunk ${index} was decoded but not kept`);
      }
      await state.nextChange();
    }
  };

  let skip = plan.skip;
  let remaining = plan.length;
  try {
    for (let index = 0; index < plan.terms.length && remaining > 0; index++) {
      const term = plan.terms[index]!;
      const state = states[term.fetch]!;
      if (state.done === undefined) {
        // Ranges start in order of first use, so the one this term needs is the next one.
        pump(term.fetch);
        if (state.done === undefined) {
          const bound = plan.fetches[nextToStart]!.keptBytesBound;
          budget.tryReserve(bound, true);
          reserved += bound;
          start(nextToStart++);
        }
      }
      pump(undefined);
      const fetchStart = plan.fetches[term.fetch]!.chunks.start;
      let length = 0;
      for (let chunk = term.chunks.start; chunk < term.chunks.end; chunk++) {
        let piece = await chunkOf(state, chunk);
        if (lastReader[term.fetch]![chunk - fetchStart] === index) state.chunks.delete(chunk);
        length += piece.length;
        if (length > term.unpackedLength) break;
        if (skip > 0) {
          const dropped = Math.min(skip, piece.length);
          piece = piece.subarray(dropped);
          skip -= dropped;
        }
        if (piece.length > remaining) piece = piece.subarray(0, remaining);
        if (piece.length === 0) continue;
        remaining -= piece.length;
        yield piece;
        if (remaining === 0) break;
      }
      if (remaining > 0 && length !== term.unpackedLength) {
        throw new XetFormatError(
          "term-length",
          `terms[${index}] (chunks ${term.chunks.start}-${term.chunks.end - 1} of xorb ${term.xorb.slice(0, 12)}…) decodes to ${length > term.unpackedLength ? "more than" : length} bytes, but its unpacked_length is ${term.unpackedLength}`,
        );
      }
      for (const fetchIndex of releaseAfter.get(index) ?? []) {
        states[fetchIndex]!.chunks.clear();
        reserved -= plan.fetches[fetchIndex]!.keptBytesBound;
        budget.release(plan.fetches[fetchIndex]!.keptBytesBound);
      }
    }
    // The terms may be written before a range's last bytes arrive: a range that then turns out
    // short, long or ragged still fails the file.
    for (const state of states) {
      await state.done?.catch((error: unknown) => {
        throw firstError ?? error;
      });
    }
  } finally {
    stopWaking();
    controller.abort();
    options.signal?.removeEventListener("abort", onAbort);
    await Promise.allSettled(states.map((state) => state.done));
    for (const state of states) state.chunks.clear();
    if (reserved > 0) budget.release(reserved);
  }
}
