import { withRetries } from "../retry/retry.js";
import { IntegrityFailure, TransferFailure } from "../errors/failures.js";
import { Connection } from "./connection.js";
import { streamRetryOptions, type FileJob } from "./context.js";
import { InOrderHasher } from "./in-order-hasher.js";
import type { Received } from "./receive-stream.js";
import { SlabWriter } from "./slab-writer.js";
import type { AssembledSource, PieceFetcher } from "./types.js";

/**
 * A file an AssembledSource makes from pieces (Xet: xorb ranges, decoded). Its bytes come in
 * file order, so they are written and hashed like one stream's; the pieces are downloaded
 * through `fetchPiece`, which gives each the engine's care: a connection slot, the retry
 * policy, resume after a cut, the bandwidth cap.
 *
 * The file itself holds no connection slot (its pieces do), so a source may fetch several
 * pieces at once without waiting on itself; `context.assemblies` bounds how many assembled
 * files are received at once.
 */
export function receiveAssembled(job: FileJob<AssembledSource>): Promise<Received> {
  return job.context.assemblies(() => receive(job));
}

async function receive(job: FileJob<AssembledSource>): Promise<Received> {
  const { item, file, signal, meter, context } = job;
  const hasher = new InOrderHasher(context.digestsFor(item, item.size), context.pool);
  const writer = new SlabWriter(file, context.pool, hasher, 0, signal);
  try {
    meter.opening();
    await file.open();
    for await (const bytes of item.source.assemble(pieceFetcher(job), signal)) {
      if (item.size !== undefined && writer.position + bytes.byteLength > item.size) {
        throw new IntegrityFailure(`size: expected ${item.size} bytes, received more`);
      }
      const copying = writer.write(bytes);
      if (copying !== undefined) await copying;
      meter.add(bytes.byteLength);
    }
    await writer.flush();
    return { size: writer.position, digests: await hasher.result() };
  } catch (error) {
    // Writes in flight finish before the caller removes the file.
    await writer.flush().catch(() => undefined);
    throw error;
  } finally {
    hasher.dispose();
  }
}

/** The engine's PieceFetcher for one file's pieces. */
function pieceFetcher(job: FileJob<AssembledSource>): PieceFetcher {
  const { bandwidth, limit } = job.context;
  return (source, range, receive, signal, onSlot) =>
    limit(async () => {
      onSlot?.();
      let position = range.start;
      let attemptStart = position;
      let connection: Connection | undefined;
      await withRetries(
        async () => {
          attemptStart = position;
          // The low-speed limit holds for pieces as for streams: a xorb host sending one byte
          // every 2 s never trips the read timeout.
          connection = new Connection(job);
          const { watch } = connection;
          try {
            watch.waiting();
            const opened = await source.open(
              { start: position, end: range.end },
              AbortSignal.any([signal, connection.signal]),
            );
            try {
              if (opened.start !== position) {
                throw new TransferFailure(
                  `asked ${source.description} for bytes ${position}-${range.end - 1}, got bytes from ${opened.start}`,
                  { retryable: false, code: "NMR_BAD_RESPONSE" },
                );
              }
              for await (const received of opened.body) {
                watch.received(received.byteLength);
                // A server may send past the end asked for: the piece is exactly the range.
                const rest = range.end - position;
                const chunk = received.byteLength > rest ? received.subarray(0, rest) : received;
                const throttled = bandwidth.take(chunk.byteLength, signal);
                if (throttled !== undefined) await throttled;
                const taking = receive(chunk);
                if (taking !== undefined) await taking;
                position += chunk.byteLength;
                if (position >= range.end) break;
                watch.waiting();
              }
              if (position < range.end) {
                throw new TransferFailure(
                  `connection closed after ${position - range.start} of ${range.end - range.start} bytes (${source.description})`,
                  { retryable: true },
                );
              }
            } finally {
              await opened.cancel();
            }
          } catch (error) {
            throw connection.failure(error);
          } finally {
            connection.close();
          }
        },
        streamRetryOptions(
          job,
          range.end - range.start,
          () => position > attemptStart && (connection?.watch.madeProgress() ?? false),
        ),
      );
    });
}
