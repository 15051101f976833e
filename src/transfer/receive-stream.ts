import { withRetries } from "../http/retry.js";
import { TransferFailure } from "./types.js";
import { streamRetryOptions, type FileJob } from "./context.js";
import { StreamingDigests } from "./digests.js";
import { WriteBehind } from "./incomplete-file.js";
import { IntegrityFailure } from "./integrity.js";

/**
 * A file in one stream. After a cut it resumes with `Range: bytes=N-`; when the server
 * ignores the range (200 and the whole body, or a body that cannot be resumed because it
 * is being decompressed), the file starts again cleanly: truncated, hashes reset.
 *
 * Runs inside one connection slot of the caller.
 */
export interface Received {
  readonly size: number;
  readonly digests: ReturnType<StreamingDigests["finish"]>;
}

export async function receiveStream(job: FileJob): Promise<Received> {
  const { item, file, signal, meter } = job;
  const { bandwidth } = job.context;
  let digests: StreamingDigests | undefined;
  let position = 0;
  let attemptStart = 0;
  // After a decoded (compressed) body is cut, its offsets mean nothing to Range: start over.
  let canResume = true;
  const writer = new WriteBehind(file);

  const startOver = async (reason: string) => {
    await file.truncate();
    digests = undefined;
    position = 0;
    attemptStart = 0;
    meter.reset(`${reason}; receiving ${item.path} again from the start`);
  };

  await withRetries(
    async () => {
      if (!canResume && position > 0) await startOver("the previous response could not be resumed");
      attemptStart = position;
      meter.opening();
      await file.open();
      const opened = await item.source.open({ start: position }, signal);
      try {
        canResume = opened.resumable !== false;
        if (opened.start !== position) {
          if (opened.start !== 0) {
            canResume = false;
            throw new TransferFailure(`asked for bytes from ${position}, got bytes from ${opened.start} (${item.source.description})`, {
              retryable: true,
            });
          }
          await startOver("the server ignored Range");
        }
        if (item.size !== undefined && opened.totalSize !== undefined && opened.totalSize !== item.size) {
          throw new IntegrityFailure(`size: expected ${item.size} bytes, the server reports ${opened.totalSize}`);
        }
        const size = item.size ?? opened.totalSize;
        digests ??= new StreamingDigests(item.expected, size);

        for await (const chunk of opened.body) {
          if (size !== undefined && position + chunk.byteLength > size) {
            throw new IntegrityFailure(`size: expected ${size} bytes, received more`);
          }
          await bandwidth.take(chunk.byteLength, signal);
          await writer.write(chunk, position);
          digests.update(chunk);
          position += chunk.byteLength;
          meter.add(chunk.byteLength);
        }
        if (size !== undefined && position < size) {
          throw new TransferFailure(`connection closed after ${position} of ${size} bytes (${item.source.description})`, {
            retryable: true,
          });
        }
      } finally {
        await opened.cancel();
        // What arrived is kept even when the connection failed: the next attempt resumes after it.
        await writer.flush();
      }
    },
    streamRetryOptions(job, item.size, () => position > attemptStart),
  );

  if (digests === undefined) throw new Error("stream finished without opening a body");
  return { size: position, digests: digests.finish() };
}
