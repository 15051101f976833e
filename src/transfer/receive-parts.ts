import { setMaxListeners } from "node:events";
import { withRetries } from "../retry/retry.js";
import { TransferFailure, IntegrityFailure } from "../errors/failures.js";
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

/** Consecutive parts of `partSize` bytes covering [0, size); the last one may be shorter. */
function planParts(size: number, partSize: number): Part[] {
  if (!(partSize > 0)) throw new RangeError(`part size must be positive, got ${partSize}`);
  const parts: Part[] = [];
  for (let start = 0; start < size; start += partSize) parts.push({ start, end: Math.min(size, start + partSize) });
  return parts;
}

export async function receiveParts(job: FileJob, size: number): Promise<Received> {
  const { item, context } = job;
  const parts = planParts(size, context.partSizeBytes);
  const hasher = new InOrderHasher(context.digestsFor(item, size), context.pool);
  // One failed part cancels its siblings; the first error is the one reported.
  const siblings = new AbortController();
  const signal = AbortSignal.any([job.signal, siblings.signal]);
  // Every part's request listens on it: hundreds of listeners are expected, not a leak.
  setMaxListeners(0, signal);
  let firstError: unknown;

  try {
    const results = await Promise.allSettled(
      parts.map((part) =>
        context
          .limit(async () => {
            signal.throwIfAborted();
            await receivePart({ ...job, signal }, hasher, part, size);
          })
          .catch((error: unknown) => {
            if (firstError === undefined) firstError = error;
            siblings.abort(error);
            throw error;
          }),
      ),
    );
    if (results.some((result) => result.status === "rejected")) throw firstError;
    if (hasher.frontier !== size) throw new Error(`parts of ${item.path} finished but bytes remain unhashed`);
    return { size, digests: await hasher.result() };
  } finally {
    hasher.dispose();
  }
}

async function receivePart(job: FileJob, hasher: InOrderHasher, part: Part, size: number): Promise<void> {
  const { item, file, signal, meter } = job;
  const { bandwidth, pool } = job.context;
  const writer = new SlabWriter(file, pool, hasher, part.start, signal);
  let attemptStart = part.start;

  await withRetries(
    async () => {
      attemptStart = writer.position;
      meter.opening();
      await file.open();
      const opened = await item.source.open({ start: writer.position, end: part.end }, signal);
      try {
        if (opened.start !== writer.position) {
          throw new RangesNotHonoured(
            `asked ${item.source.description} for bytes ${writer.position}-${part.end - 1}, got bytes from ${opened.start}`,
          );
        }
        if (opened.totalSize !== undefined && opened.totalSize !== size) {
          throw new IntegrityFailure(`size: expected ${size} bytes, the server reports ${opened.totalSize}`);
        }
        for await (const received of opened.body) {
          // A server may send past the end we asked for; the rest belongs to another part.
          const remaining = part.end - writer.position;
          const chunk = received.byteLength > remaining ? received.subarray(0, remaining) : received;
          const throttled = bandwidth.take(chunk.byteLength, signal);
          if (throttled !== undefined) await throttled;
          const copying = writer.write(chunk);
          if (copying !== undefined) await copying;
          meter.add(chunk.byteLength);
          if (writer.position >= part.end) break;
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
    },
    streamRetryOptions(job, part.end - part.start, () => writer.position > attemptStart),
  );
}
