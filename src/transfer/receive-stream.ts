import { withRetries } from "../retry/retry.js";
import { TransferFailure, IntegrityFailure } from "../errors/failures.js";
import { Connection } from "./connection.js";
import { streamRetryOptions, type FileJob } from "./context.js";
import type { FileDigests } from "./digests.js";
import { InOrderHasher } from "./in-order-hasher.js";
import { SlabWriter } from "./slab-writer.js";

/**
 * A file in one stream. After a cut it resumes with `Range: bytes=N-`; when the server
 * ignores the range (200 and the whole body, or a body that cannot be resumed because it
 * is being decompressed), the file starts again cleanly: truncated, hashes reset.
 *
 * Runs inside one connection slot of the caller.
 */
export interface Received {
  readonly size: number;
  readonly digests: FileDigests;
}

export async function receiveStream(job: FileJob): Promise<Received> {
  const { item, file, signal, meter } = job;
  const { bandwidth, pool } = job.context;
  let hasher: InOrderHasher | undefined;
  let writer: SlabWriter | undefined;
  let position = 0;
  let connection: Connection | undefined;
  // After a decoded (compressed) body is cut, its offsets mean nothing to Range: start over.
  let canResume = true;

  const startOver = async (reason: string) => {
    // The previous attempt flushed its writer: nothing is in flight.
    hasher?.dispose();
    hasher = undefined;
    writer = undefined;
    await file.truncate();
    position = 0;
    meter.reset(`${reason}; receiving ${item.path} again from the start`);
  };

  try {
    await withRetries(
      async () => {
        if (!canResume && position > 0) await startOver("the previous response could not be resumed");
        connection = new Connection(job);
        const { watch } = connection;
        try {
          meter.opening();
          await file.open();
          watch.waiting();
          const opened = await item.source.open({ start: position }, connection.signal);
          try {
            canResume = opened.resumable !== false;
            if (opened.start !== position) {
              if (opened.start !== 0) {
                canResume = false;
                throw new TransferFailure(
                  `asked for bytes from ${position}, got bytes from ${opened.start} (${item.source.description})`,
                  {
                    retryable: true,
                    code: "NMR_BAD_RESPONSE",
                  },
                );
              }
              await startOver("the server ignored Range");
            }
            if (item.size !== undefined && opened.totalSize !== undefined && opened.totalSize !== item.size) {
              throw new IntegrityFailure(`size: expected ${item.size} bytes, the server reports ${opened.totalSize}`);
            }
            connection.opened(opened);
            const size = item.size ?? opened.totalSize;
            hasher ??= new InOrderHasher(job.context.digestsFor(item, size), pool);
            writer ??= new SlabWriter(file, pool, hasher, position, signal);

            for await (const chunk of opened.body) {
              watch.received(chunk.byteLength);
              if (size !== undefined && position + chunk.byteLength > size) {
                throw new IntegrityFailure(`size: expected ${size} bytes, received more`);
              }
              const throttled = bandwidth.take(chunk.byteLength, signal);
              if (throttled !== undefined) await throttled;
              const copying = writer.write(chunk);
              if (copying !== undefined) await copying;
              position += chunk.byteLength;
              meter.add(chunk.byteLength);
              watch.waiting();
            }
            if (size !== undefined && position < size) {
              throw new TransferFailure(
                `connection closed after ${position} of ${size} bytes (${item.source.description})`,
                {
                  retryable: true,
                },
              );
            }
          } finally {
            await opened.cancel();
            // What arrived is kept even when the connection failed: the next attempt resumes after it.
            if (writer !== undefined) {
              await writer.flush();
              position = writer.position;
            }
          }
        } catch (error) {
          throw connection.failure(error);
        } finally {
          connection.close();
        }
      },
      streamRetryOptions(job, item.size, () => connection?.watch.madeProgress() ?? false),
    );

    if (hasher === undefined) throw new Error("stream finished without opening a body");
    return { size: position, digests: await hasher.result() };
  } finally {
    hasher?.dispose();
  }
}
