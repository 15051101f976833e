import { ChunkPool } from "./chunk-pool.js";
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
 * largest single range's bound) of decoded data is reserved — a range's bound is at most a
 * xorb's 64 MiB of data (planner.ts) — plus, per range in flight, one partial chunk (≤ 264 KiB)
 * and one piece from `fetchRange`. What a range holds in memory is smaller still while the
 * writer is busy: past `leadBytes` its download waits (DEFAULT_LEAD_BYTES), and goes on as soon
 * as the writer waits for one of its chunks, or for a range that has no connection yet (one
 * waiting for a slot). A busy writer needs no connection, and a waiting one lets every range go
 * on that could stand between it and its bytes, so ranges of several files sharing connection
 * slots cannot deadlock. One range more is asked for ahead of need and holds at its first
 * piece (lookAhead below): the writer never needs a range behind it while it holds.
 *
 * With a `spill` store, a range that does not fit in memory keeps its chunks there instead (a
 * scratch file), within `spillBudget`, and they are read back when the writer gets to them.
 * Ranges are signed whole and a real xorb's is up to 64 MiB, so without it a 64 MiB budget
 * downloads one range at a time: on a link that limits each connection, one connection's speed.
 *
 * The yielded arrays may be views of chunks a later term reads again, or of a buffer a spilled
 * range reads the next chunk into, or of one the pool lends the next decoded chunk: treat them
 * as read-only, and done with when asking for the next one (AssembledSource's contract,
 * src/transfer/types.ts). A decoded chunk goes back to the pool when the writer asks for what
 * follows its last term's read, when its range is released unread, or once it is on disk.
 */

/**
 * `receive` may return a promise: the next piece is handed over once it resolves (back-pressure).
 * `onSlot` is to be called once the range holds the connection it keeps until it ends, across
 * its retries (the engine's slot), if connections are shared. With a fetcher that never calls
 * it, every download goes on while the writer waits, as before the hold rule (see
 * DEFAULT_LEAD_BYTES). A first piece is no sign of a slot: a fetcher may take one per try.
 */
export type RangeFetcher = (
  fetch: PlannedFetch,
  receive: (piece: Uint8Array) => Promise<void> | undefined,
  signal: AbortSignal,
  onSlot?: () => void,
) => Promise<void>;

export interface AssembleOptions {
  readonly fetchRange: RangeFetcher;
  /** Ranges in flight at once; default 4 (xet-core's initial download concurrency). */
  readonly concurrency?: number;
  /** Budget for decoded data held ahead of the writer; default 128 MiB. Ignored when `budget` is given. */
  readonly maxBufferedBytes?: number;
  /** A budget shared with other files assembled at the same time (see BufferBudget). */
  readonly budget?: BufferBudget;
  /** Where ranges the memory budget has no room for keep their chunks; none: they wait. */
  readonly spill?: SpillStore;
  /** Bytes reserved for ranges in `spill` (each its `keptBytesBound`), shared like `budget`. */
  readonly spillBudget?: BufferBudget;
  /** Where decoded chunks come from and go back to, shared like `budget`; default: one for this file (DEFAULT_POOL_FREE_BYTES). */
  readonly pool?: ChunkPool;
  /** The window in which the writer's waits are weighed before a range may go to `spill` (Starvation); default 100 ms, 0 every wait. */
  readonly starvationWindowMs?: number;
  /** Decoded bytes a range may hold in memory ahead of a busy writer before its download waits; default 8 MiB. */
  readonly leadBytes?: number;
  readonly signal?: AbortSignal;
}

/** Decoded chunks kept outside memory, one place per range (src/sources/xet/spill-folder.ts). */
export interface SpillStore {
  open(): SpilledRange;
}

/** One range's chunks outside memory: written as they decode, read when the writer needs them. */
export interface SpilledRange {
  /** Keeps `data`; what it returns reads it back. */
  write(data: Uint8Array): SpilledChunk;
  read(chunk: SpilledChunk): Uint8Array;
  /** Gives the place back; the range's chunks are gone. */
  close(): void;
}

export interface SpilledChunk {
  readonly offset: number;
  readonly length: number;
}

const DEFAULT_CONCURRENCY = 4;
const DEFAULT_MAX_BUFFERED_BYTES = 128 * 1024 * 1024;
/** Free buffers a file's own pool keeps: the chunks a writer goes through while ranges decode ahead of it. */
export const DEFAULT_POOL_FREE_BYTES = 16 * 1024 * 1024;

/**
 * How many decoded bytes a range may hold in memory ahead of the writer before its download
 * waits for the writer. The budget alone let a range hold a whole xorb (64 MiB) whenever the
 * network outran the writer, as over loopback: the range the writer needs always starts, and
 * the next one starts whenever nothing else is reserved, such as while the writer reads a
 * range back from disk. Up to 60 MiB more peak memory, and chunks cold in the cache by the
 * time they were copied (docs/bench.md, "Sixth round").
 *
 * A download waits only while the writer is busy, or while the writer waits for another range
 * that holds its connection slot (RangeFetcher's `onSlot`; the engine keeps a piece's slot
 * across its retries). When the writer waits for a range with no slot yet, every waiting
 * download goes on. So a waiting download never holds a connection slot the writer is waiting
 * for. When the writer is busy it is copying chunks it has, which needs no connection. Letting
 * every download go on whenever the writer waited let one range hold a whole xorb (64 MiB)
 * while the writer waited for a slower one, read back from disk (docs/bench.md, "Eighth
 * round"). A range held at its lead while the writer starves (a link
 * that limits each connection) goes on with its chunks on disk, if there is a spill store
 * (spillHeld in assembleFile).
 */
const DEFAULT_LEAD_BYTES = 8 * 1024 * 1024;

/** Whether one file's writer is waiting for a chunk, and of which range; the downloads waiting for it. */
class Writer {
  #waiting = false;
  /** The range the writer waits for; undefined while it waits for none in particular (it has stopped reading). */
  #awaited: FetchState | undefined;
  readonly #holding = new Set<FetchState>();

  /** Whether `range`'s download must go on now rather than wait for the writer (see DEFAULT_LEAD_BYTES). */
  needs(range: FetchState): boolean {
    if (!this.#waiting) return false;
    const awaited = this.#awaited;
    return awaited === undefined || awaited === range || !awaited.hasSlot;
  }

  /** The writer waits for a chunk of `range`, or has stopped reading (undefined: nothing may wait for it). */
  waitsFor(range: FetchState | undefined): void {
    this.#waiting = true;
    this.#awaited = range;
    for (const state of [...this.#holding]) state.mayResume();
  }

  /** The writer has the chunk it waited for. */
  busy(): void {
    this.#waiting = false;
    this.#awaited = undefined;
  }

  holding(state: FetchState, held: boolean): void {
    if (held) this.#holding.add(state);
    else this.#holding.delete(state);
  }
}

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

/**
 * Whether the writer is starved: in a window (100 ms unless told), it waited for bytes more
 * than half the time. Over loopback, where the CPU is the limit, it waits now and then for a
 * moment; on a link that limits each connection, nearly all the time. Measured over 1 GiB
 * through Xet on loopback: starting a range on disk at every wait instead cost 1.2x the time
 * and 40 MiB more memory (docs/bench.md, "Xet ranges in parallel").
 */
const DEFAULT_STARVATION_WINDOW_MS = 100;

class Starvation {
  #windowStart = performance.now();
  #waited = 0;

  constructor(readonly windowMs: number) {}

  /** Counts a wait of `ms`; true once per window in which waits took more than half of it (a window of 0: every wait). */
  waited(ms: number): boolean {
    if (this.windowMs === 0) return true;
    this.#waited += ms;
    const now = performance.now();
    const elapsed = now - this.#windowStart;
    if (elapsed < this.windowMs) return false;
    const starved = this.#waited > elapsed / 2;
    this.#windowStart = now;
    this.#waited = 0;
    return starved;
  }
}

/** True once `change` resolves, false if `ms` pass first. */
function changedWithin(change: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void change.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

class FetchState {
  readonly #chunks = new Map<number, Uint8Array | SpilledChunk>();
  /** Bytes of the chunks above that are held in memory. */
  #heldBytes = 0;
  /** Whether the range's download holds its connection until it ends (RangeFetcher's `onSlot`). */
  hasSlot = false;
  /** Where the range's chunks go when it has no room in memory. */
  spilled: SpilledRange | undefined;
  done: Promise<void> | undefined;
  settled = false;
  #wake: (() => void) | undefined;
  #resumeDownload: (() => void) | undefined;
  /** Closed while the range was started ahead of need (see lookAhead in assembleFile): its download waits at its first piece. */
  #gate: { readonly opened: Promise<void>; readonly open: () => void } | undefined;

  constructor(
    private readonly writer: Writer,
    private readonly leadBytes: number,
    readonly pool: ChunkPool,
  ) {}

  get(index: number): Uint8Array | SpilledChunk | undefined {
    return this.#chunks.get(index);
  }

  /** Holds the download at its first piece until `openGate`. */
  closeGate(): void {
    let open!: () => void;
    const opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    this.#gate = { opened, open };
  }

  /** Resolves once the gate is open; undefined when it is. */
  get gateOpened(): Promise<void> | undefined {
    return this.#gate?.opened;
  }

  openGate(): void {
    this.#gate?.open();
    this.#gate = undefined;
  }

  keep(index: number, chunk: Uint8Array | SpilledChunk): void {
    this.#chunks.set(index, chunk);
    if (chunk instanceof Uint8Array) this.#heldBytes += chunk.length;
  }

  drop(index: number): void {
    const chunk = this.#chunks.get(index);
    if (!this.#chunks.delete(index)) return;
    if (chunk instanceof Uint8Array) this.#heldBytes -= chunk.length;
    this.mayResume();
  }

  /** Drops every chunk left, unread: the ones in memory go back to the pool. */
  clear(): void {
    for (const chunk of this.#chunks.values()) if (chunk instanceof Uint8Array) this.pool.give(chunk);
    this.#chunks.clear();
    this.#heldBytes = 0;
    this.mayResume();
  }

  /** Whether the download waits for the writer, at its lead (caughtUp). */
  get holdsAtLead(): boolean {
    return this.#resumeDownload !== undefined;
  }

  /** For the download, after each piece: a promise while it should let the writer catch up. */
  caughtUp(): Promise<void> | undefined {
    if (!this.#mustWait()) return undefined;
    this.writer.holding(this, true);
    return new Promise((resolve) => {
      this.#resumeDownload = resolve;
    });
  }

  /**
   * Over its lead, a download waits while the writer is busy copying chunks it has, or waits
   * for another range that holds its connection (Writer.needs). One whose chunks go to disk
   * keeps what it holds in memory and adds nothing to it: it never waits.
   */
  #mustWait(): boolean {
    return this.spilled === undefined && this.#heldBytes > this.leadBytes && !this.writer.needs(this);
  }

  mayResume(): void {
    if (this.#resumeDownload === undefined || this.#mustWait()) return;
    const resume = this.#resumeDownload;
    this.#resumeDownload = undefined;
    this.writer.holding(this, false);
    resume();
  }

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
  const decoder = new ChunkStreamDecoder(label, fetch.chunks.start, fetch.chunks.end, state.pool);
  const expected = fetch.bytes.end - fetch.bytes.start + 1;
  const kept = (index: number) => fetch.keep.some((range) => range.start <= index && index < range.end);
  let received = 0;
  let keptBytes = 0;
  const take = (piece: Uint8Array): Promise<void> | undefined => {
    received += piece.length;
    if (received > expected) {
      throw new XetFormatError("chunk-stream", `${label}: the server sent more than the ${expected} bytes asked for`);
    }
    let arrived = false;
    for (const chunk of decoder.push(piece)) {
      if (!kept(chunk.index)) {
        state.pool.give(chunk.data);
        continue;
      }
      keptBytes += chunk.data.length;
      if (keptBytes > fetch.keptBytesBound) {
        throw new XetFormatError(
          "term-length",
          `${label}: the chunks its terms read decode to more than their ${fetch.keptBytesBound} bytes of unpacked_length`,
        );
      }
      if (state.spilled === undefined) state.keep(chunk.index, chunk.data);
      else {
        state.keep(chunk.index, state.spilled.write(chunk.data));
        state.pool.give(chunk.data);
      }
      arrived = true;
    }
    if (!arrived) return undefined;
    state.changed();
    return state.caughtUp();
  };
  // A range started ahead of need holds its first piece; the rest waits in the connection.
  const receive = (piece: Uint8Array) => state.gateOpened?.then(() => take(piece)) ?? take(piece);
  const onSlot = () => {
    state.hasSlot = true;
  };
  await options.fetchRange(fetch, receive, signal, onSlot);
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
  const spillBudget = options.spill === undefined ? undefined : options.spillBudget;
  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const writer = new Writer();
  const leadBytes = options.leadBytes ?? DEFAULT_LEAD_BYTES;
  const pool = options.pool ?? new ChunkPool(DEFAULT_POOL_FREE_BYTES);
  const states = plan.fetches.map(() => new FetchState(writer, leadBytes, pool));
  const lastReader = lastReaders(plan);
  const releaseAfter = new Map<number, number[]>();
  for (const [index, fetch] of plan.fetches.entries()) {
    releaseAfter.set(fetch.lastTerm, [...(releaseAfter.get(fetch.lastTerm) ?? []), index]);
  }
  let nextToStart = 0;
  let running = 0;
  let firstError: unknown;

  /** For each range started and not released, the budgets its bound is reserved in: given back however the file ends. */
  const reservedIn = new Map<number, BufferBudget[]>();
  const start = (index: number, reservation: BufferBudget) => {
    const fetch = plan.fetches[index]!;
    const state = states[index]!;
    reservedIn.set(index, [reservation]);
    if (reservation !== budget) state.spilled = options.spill!.open();
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
  /** Starts the next range in memory whether the budget has room or not: the writer needs it, or soon will. */
  const startNextAnyway = () => {
    budget.tryReserve(plan.fetches[nextToStart]!.keptBytesBound, true);
    start(nextToStart++, budget);
  };
  /**
   * Starts the ranges memory has room for, in order; with `toDisk`, also one that memory has no
   * room for. That is asked only when the writer spends most of its time waiting for bytes
   * (Starvation): while it is busy (a fast link, the CPU the limit) a range more would cost
   * copies to disk and back and gain nothing.
   */
  const pump = (needed: number | undefined, toDisk = false) => {
    let diskStarts = toDisk && !goAhead() ? 1 : 0;
    while (nextToStart < plan.fetches.length && running < concurrency && !controller.signal.aborted) {
      const bound = plan.fetches[nextToStart]!.keptBytesBound;
      if (budget.tryReserve(bound, nextToStart === needed)) start(nextToStart++, budget);
      else if (diskStarts > 0 && spillBudget?.tryReserve(bound, false)) {
        diskStarts -= 1;
        start(nextToStart++, spillBudget);
      } else break;
    }
  };
  /** The range started ahead of need (lookAhead), while it holds at its first piece. */
  let lookingAhead: number | undefined;
  /**
   * Starts the next range when the writer begins the last term of the range it is on, so that
   * its request and first bytes are on their way before the writer needs it: each range costs
   * a round trip and the server's time to the first byte (50 ms of it per xorb request made 1
   * GiB through Xet take 1.24x as long; docs/bench.md, "Sixth round"). It holds at its first
   * piece, the rest waiting in the connection, not in memory, until the writer gets to it, or
   * until the writer starves (goAhead).
   */
  const lookAhead = () => {
    if (lookingAhead !== undefined || nextToStart >= plan.fetches.length) return;
    if (running >= concurrency || controller.signal.aborted) return;
    lookingAhead = nextToStart;
    states[nextToStart]!.closeGate();
    startNextAnyway();
  };
  /**
   * The writer starves: the range started ahead goes on now (it is the next one the writer
   * needs), keeping its chunks on disk if memory has no room. False if there is none.
   */
  const goAhead = (): boolean => {
    const index = lookingAhead;
    if (index === undefined) return false;
    lookingAhead = undefined;
    const bound = plan.fetches[index]!.keptBytesBound;
    const state = states[index]!;
    if (budget.reserved > budget.limit && spillBudget?.tryReserve(bound, false)) {
      const reservations = reservedIn.get(index)!;
      reservations[reservations.indexOf(budget)] = spillBudget;
      state.spilled = options.spill!.open();
      budget.release(bound);
    }
    state.openGate();
    return true;
  };
  /**
   * The writer starves while ranges in memory hold at their lead for it, their connections
   * idle: on a link that limits each connection, bandwidth lost while the writer waits for a
   * slow range that has its slot, and the held range is slow in its turn once the writer gets
   * to it. Each goes on with its next chunks on disk while the spill budget has room for it;
   * what it holds stays in memory. It keeps its reservation in memory and takes its whole
   * bound on disk too, more than it can use in both: simple, and the budgets stay bounds.
   */
  const spillHeld = () => {
    if (spillBudget === undefined) return;
    for (const [index, reservations] of reservedIn) {
      const state = states[index]!;
      if (state.spilled !== undefined || !state.holdsAtLead) continue;
      if (!spillBudget.tryReserve(plan.fetches[index]!.keptBytesBound, false)) return;
      reservations.push(spillBudget);
      state.spilled = options.spill!.open();
      state.mayResume();
    }
  };
  /** The writer starves: ranges held at their lead go on on disk, and a range more may start. */
  const onStarved = () => {
    spillHeld();
    pump(undefined, true);
  };
  /** The writer reads no more: no download may wait for it, at its lead or at its gate. */
  const letEveryDownloadRun = () => {
    writer.waitsFor(undefined);
    for (const state of states) state.openGate();
  };
  const stopWaking = budget.onRelease(() => pump(undefined));
  const starved = new Starvation(options.starvationWindowMs ?? DEFAULT_STARVATION_WINDOW_MS);
  /** Releases range `index`: its chunks, its place outside memory, its reservations. */
  const release = (index: number) => {
    const reservations = reservedIn.get(index);
    if (reservations === undefined) return;
    reservedIn.delete(index);
    const state = states[index]!;
    state.clear();
    state.spilled?.close();
    state.spilled = undefined;
    for (const reservation of reservations) reservation.release(plan.fetches[index]!.keptBytesBound);
  };
  /** Chunk `index` of the fetch, once it has arrived; the fetch's own failure (or the first) if it never does. */
  const chunkOf = async (state: FetchState, index: number): Promise<Uint8Array> => {
    for (;;) {
      const data = state.get(index);
      if (data instanceof Uint8Array) return data;
      if (data !== undefined) return state.spilled!.read(data);
      if (state.settled) {
        // A range aborted because another failed reports that other failure, the real cause.
        await state.done!.catch((error: unknown) => {
          throw firstError ?? error;
        });
        throw new Error(`internal error: chunk ${index} was decoded but not kept`);
      }
      writer.waitsFor(state);
      const changed = state.nextChange();
      let weighedFrom = performance.now();
      // A wait longer than a window is weighed while it lasts, not only when it ends: a server
      // slow to send a range's first byte starves the writer as much as a slow connection.
      while (starved.windowMs > 0 && !(await changedWithin(changed, starved.windowMs))) {
        const now = performance.now();
        if (starved.waited(now - weighedFrom)) onStarved();
        weighedFrom = now;
      }
      await changed;
      writer.busy();
      if (starved.waited(performance.now() - weighedFrom)) onStarved();
    }
  };

  let skip = plan.skip;
  let remaining = plan.length;
  try {
    for (let index = 0; index < plan.terms.length && remaining > 0; index++) {
      const term = plan.terms[index]!;
      const state = states[term.fetch]!;
      if (term.fetch === lookingAhead) {
        lookingAhead = undefined;
        state.openGate();
      }
      if (state.done === undefined) {
        // Ranges start in order of first use, so the one this term needs is the next one.
        pump(term.fetch);
        if (state.done === undefined) startNextAnyway();
      }
      pump(undefined);
      if (index === plan.fetches[term.fetch]!.lastTerm) lookAhead();
      const fetchStart = plan.fetches[term.fetch]!.chunks.start;
      let length = 0;
      for (let chunk = term.chunks.start; chunk < term.chunks.end; chunk++) {
        const data = await chunkOf(state, chunk);
        const lastRead = lastReader[term.fetch]![chunk - fetchStart] === index;
        if (lastRead) state.drop(chunk);
        try {
          length += data.length;
          if (length > term.unpackedLength) break;
          let piece = data;
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
        } finally {
          // The writer has asked for the next piece (or stopped reading): it is done with this one.
          if (lastRead) pool.give(data);
        }
      }
      if (remaining > 0 && length !== term.unpackedLength) {
        throw new XetFormatError(
          "term-length",
          `terms[${index}] (chunks ${term.chunks.start}-${term.chunks.end - 1} of xorb ${term.xorb.slice(0, 12)}…) decodes to ${length > term.unpackedLength ? "more than" : length} bytes, but its unpacked_length is ${term.unpackedLength}`,
        );
      }
      for (const fetchIndex of releaseAfter.get(index) ?? []) release(fetchIndex);
    }
    // Done reading: a range with chunks past the file's end runs out.
    letEveryDownloadRun();
    // The terms may be written before a range's last bytes arrive: a range that then turns out
    // short, long or ragged still fails the file.
    for (const state of states) {
      await state.done?.catch((error: unknown) => {
        throw firstError ?? error;
      });
    }
  } finally {
    stopWaking();
    letEveryDownloadRun(); // a download waiting for the writer would never see the abort
    controller.abort();
    options.signal?.removeEventListener("abort", onAbort);
    await Promise.allSettled(states.map((state) => state.done));
    for (const index of [...reservedIn.keys()]) release(index);
  }
}
