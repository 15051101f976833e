import { setMaxListeners } from "node:events";
import { withRetries } from "../retry/retry.js";
import { TransferFailure, IntegrityFailure } from "../errors/failures.js";
import { Connection } from "./connection.js";
import { streamRetryOptions, type FileJob } from "./context.js";
import { InOrderHasher } from "./in-order-hasher.js";
import type { Received } from "./receive-stream.js";
import { SlabWriter } from "./slab-writer.js";

/**
 * A large file in parallel ranged parts, each in its own connection slot, each resuming
 * from where it stopped after a cut. Bytes are written where they belong at once and
 * hashed in file order through an InOrderHasher (bounded memory: see there and
 * slab-pool.ts).
 *
 * Parts are planned lazily: a few workers take the next part when they finish one, so a
 * file's memory does not grow with its size (a listing that claims 10^15 bytes once cost a
 * pending promise per 8 MiB part, and gigabytes). There are as many workers as the most
 * connection slots there may ever be (`maxConnections`), so slots the governor adds later
 * are used by a file already under way; a worker without a slot waits in the slot queue
 * holding one planned part (two numbers), no bytes: a slab is taken once it runs. The first
 * part goes alone, and no other is asked for until its answer is checked: a server whose
 * Content-Range total differs from the listed size, or that ignores Range, is found with
 * one request, not `concurrency` of them.
 *
 * If the server does not honour a ranged request, this throws RangesNotHonoured and the
 * caller receives the file in one stream instead.
 */
/** A server answered a ranged part with something else (usually 200 and the whole file). */
export class RangesNotHonoured extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RangesNotHonoured";
  }
}

export interface Part {
  readonly start: number;
  /** Exclusive. */
  readonly end: number;
}

/** Consecutive parts of `partSize` bytes covering [0, size), made one at a time; the last may be shorter. */
class PartCursor {
  #next = 0;

  constructor(
    private readonly size: number,
    private readonly partSize: number,
  ) {
    if (!(partSize > 0)) throw new RangeError(`part size must be positive, got ${partSize}`);
  }

  get count(): number {
    return Math.ceil(this.size / this.partSize);
  }

  next(): Part | undefined {
    const start = this.#next;
    if (start >= this.size) return undefined;
    this.#next = Math.min(this.size, start + this.partSize);
    return { start, end: this.#next };
  }
}

export async function receiveParts(job: FileJob, size: number): Promise<Received> {
  const { item, context } = job;
  const parts = new PartCursor(size, context.partSizeBytes);
  const hasher = new InOrderHasher(context.digestsFor(item, size), context.pool);
  // One failed part cancels its siblings; the first error is the one reported.
  const siblings = new AbortController();
  const signal = AbortSignal.any([job.signal, siblings.signal]);
  // Every part's request listens on it: many listeners are expected, not a leak.
  setMaxListeners(0, signal);
  const partJob = { ...job, signal };
  let firstError: unknown;
  const failed = (error: unknown): never => {
    if (firstError === undefined) firstError = error;
    siblings.abort(error);
    throw error;
  };
  const receive = (part: Part, checked?: () => void) =>
    context.limit(async () => {
      signal.throwIfAborted();
      await receivePart(partJob, hasher, part, size, checked);
    });
  /** Receives parts until none is left. */
  const worker = async (first?: Part): Promise<void> => {
    for (let part = first ?? parts.next(); part !== undefined; part = parts.next()) await receive(part);
  };

  try {
    // The first part alone, until its answer has been checked against the listing.
    let firstChecked!: () => void;
    const checked = new Promise<void>((resolve) => (firstChecked = resolve));
    const firstPart = parts.next()!;
    const leader = receive(firstPart, firstChecked)
      .then(() => worker())
      .catch(failed);
    await Promise.race([checked, leader]);
    const others = Array.from({ length: Math.min(parts.count, context.maxConnections) - 1 }, () =>
      worker().catch(failed),
    );
    const results = await Promise.allSettled([leader, ...others]);
    if (results.some((result) => result.status === "rejected")) throw firstError;
    if (hasher.frontier !== size) throw new Error(`parts of ${item.path} finished but bytes remain unhashed`);
    return { size, digests: await hasher.result() };
  } finally {
    hasher.dispose();
  }
}

/** One part; `checked` is told once its first answer has passed the checks. */
async function receivePart(
  job: FileJob,
  hasher: InOrderHasher,
  part: Part,
  size: number,
  checked?: () => void,
): Promise<void> {
  const { item, file, signal, meter } = job;
  const { bandwidth, pool } = job.context;
  const writer = new SlabWriter(file, pool, hasher, part.start, signal);
  let connection: Connection | undefined;

  await withRetries(
    async () => {
      connection = new Connection(job);
      const { watch } = connection;
      try {
        meter.opening();
        await file.open();
        watch.waiting();
        const opened = await item.source.open({ start: writer.position, end: part.end }, connection.signal);
        try {
          if (opened.start !== writer.position) {
            throw new RangesNotHonoured(
              `asked ${item.source.description} for bytes ${writer.position}-${part.end - 1}, got bytes from ${opened.start}`,
            );
          }
          if (opened.totalSize !== undefined && opened.totalSize !== size) {
            throw new IntegrityFailure(`size: expected ${size} bytes, the server reports ${opened.totalSize}`);
          }
          connection.opened(opened);
          checked?.();
          for await (const received of opened.body) {
            watch.received(received.byteLength);
            // A server may send past the end we asked for; the rest belongs to another part.
            const remaining = part.end - writer.position;
            const chunk = received.byteLength > remaining ? received.subarray(0, remaining) : received;
            const throttled = bandwidth.take(chunk.byteLength, signal);
            if (throttled !== undefined) await throttled;
            const copying = writer.write(chunk);
            if (copying !== undefined) await copying;
            meter.add(chunk.byteLength);
            if (writer.position >= part.end) break;
            watch.waiting();
          }
          if (writer.position < part.end) {
            throw new TransferFailure(
              `connection closed after ${writer.position - part.start} of ${part.end - part.start} bytes of a part (${item.source.description})`,
              { retryable: true },
            );
          }
        } finally {
          await opened.cancel();
          await writer.flush();
        }
      } catch (error) {
        throw connection.failure(error);
      } finally {
        connection.close();
      }
    },
    streamRetryOptions(job, part.end - part.start, () => connection?.watch.madeProgress() ?? false),
  );
}
