import { setMaxListeners } from "node:events";
import { withRetries } from "../http/retry.js";
import { TransferFailure } from "./types.js";
import { streamRetryOptions, type FileJob } from "./context.js";
import { StreamingDigests } from "./digests.js";
import { InOrderHasher } from "./in-order-hasher.js";
import { WriteBehind } from "./incomplete-file.js";
import { IntegrityFailure, RangesNotHonoured } from "./integrity.js";
import type { Received } from "./receive-stream.js";

/**
 * A large file in parallel ranged parts, each in its own connection slot, each resuming
 * from where it stopped after a cut. Bytes are written where they belong at once and
 * hashed in file order through an InOrderHasher (bounded memory, see there).
 *
 * If the server does not honour a ranged request, this throws RangesNotHonoured and the
 * caller receives the file in one stream instead.
 */
export interface Part {
  readonly start: number;
  /** Exclusive. */
  readonly end: number;
}

/** Consecutive parts of `partSize` bytes covering [0, size); the last one may be shorter. */
export function planParts(size: number, partSize: number): Part[] {
  if (!(partSize > 0)) throw new RangeError(`part size must be positive, got ${partSize}`);
  const parts: Part[] = [];
  for (let start = 0; start < size; start += partSize) parts.push({ start, end: Math.min(size, start + partSize) });
  return parts;
}

export async function receiveParts(job: FileJob, size: number): Promise<Received> {
  const { item, context } = job;
  const parts = planParts(size, context.partSizeBytes);
  const digests = new StreamingDigests(item.expected, size);
  const hasher = new InOrderHasher(digests, parts.length, context.budget);
  // One failed part cancels its siblings; the first error is the one reported.
  const siblings = new AbortController();
  const signal = AbortSignal.any([job.signal, siblings.signal]);
  // Every part's request listens on it: hundreds of listeners are expected, not a leak.
  setMaxListeners(0, signal);
  let firstError: unknown;

  try {
    const results = await Promise.allSettled(
      parts.map((part, index) =>
        context.limit(async () => {
          signal.throwIfAborted();
          await receivePart({ ...job, signal }, hasher, index, part, size);
        }).catch((error: unknown) => {
          if (firstError === undefined) firstError = error;
          siblings.abort(error);
          throw error;
        }),
      ),
    );
    if (results.some((result) => result.status === "rejected")) throw firstError;
  } finally {
    hasher.dispose();
  }
  if (!hasher.done) throw new Error(`parts of ${item.path} finished but bytes remain unhashed`);
  return { size, digests: digests.finish() };
}

async function receivePart(job: FileJob, hasher: InOrderHasher, index: number, part: Part, size: number): Promise<void> {
  const { item, file, signal, meter } = job;
  const { bandwidth } = job.context;
  let position = part.start;
  let attemptStart = position;
  const writer = new WriteBehind(file);

  await withRetries(
    async () => {
      attemptStart = position;
      meter.opening();
      await file.open();
      const opened = await item.source.open({ start: position, end: part.end }, signal);
      try {
        if (opened.start !== position) {
          throw new RangesNotHonoured(
            `asked ${item.source.description} for bytes ${position}-${part.end - 1}, got bytes from ${opened.start}`,
          );
        }
        if (opened.totalSize !== undefined && opened.totalSize !== size) {
          throw new IntegrityFailure(`size: expected ${size} bytes, the server reports ${opened.totalSize}`);
        }
        for await (const received of opened.body) {
          // A server may send past the end we asked for; the rest belongs to another part.
          const chunk = received.byteLength > part.end - position ? received.subarray(0, part.end - position) : received;
          await bandwidth.take(chunk.byteLength, signal);
          await writer.write(chunk, position);
          await hasher.push(index, chunk, signal);
          position += chunk.byteLength;
          meter.add(chunk.byteLength);
          if (position >= part.end) break;
        }
        if (position < part.end) {
          throw new TransferFailure(
            `connection closed after ${position - part.start} of ${part.end - part.start} bytes of a part (${item.source.description})`,
            { retryable: true },
          );
        }
      } finally {
        await opened.cancel();
        await writer.flush();
      }
    },
    streamRetryOptions(job, part.end - part.start, () => position > attemptStart),
  );
  hasher.complete(index);
}
