import { ContentIdentity, SameContentAgain } from "./connection.js";
import { FileMeter, type EngineContext, type FileJob } from "./context.js";
import { digestMismatches } from "./digests.js";
import { IncompleteFile } from "./incomplete-file.js";
import { DownloadFailure, Failure, IntegrityFailure } from "../errors/failures.js";
import { receiveAssembled } from "./receive-assembled.js";
import { RangesNotHonoured, receiveParts } from "./receive-parts.js";
import { receiveStream, type Received } from "./receive-stream.js";
import { isAssembled, type ByteSource, type FileSource, type TransferItem, type TransferredFile } from "./types.js";

/**
 * One file, start to finish: receive it (in parts or one stream), check size and every
 * digest, rename `.incomplete` onto the destination. A size or digest mismatch deletes
 * the file and fetches it once more, which helps when the file changed on the server or
 * something in between garbled it; a second mismatch, or a failure retrying cannot fix,
 * fails the file with a DownloadFailure naming it (src/errors/explain.ts words it for the
 * user). No `.incomplete` file survives a failure.
 *
 * The second download is not made when it would fail the same way: when its first answer
 * carries the validator (a strong ETag, Last-Modified with the size, a git blob id) of the
 * download that failed, the server is sending the same bytes again (ContentIdentity in
 * connection.ts), and the file fails at once with the first download's mismatch.
 */
const INTEGRITY_ATTEMPTS = 2;

export async function transferFile(
  item: TransferItem,
  context: EngineContext,
  signal: AbortSignal,
): Promise<TransferredFile> {
  const meter = new FileMeter(item.path, item.size, context.progress);
  const identity = new ContentIdentity();
  let mismatch: IntegrityFailure | undefined;

  for (let attempt = 1; ; attempt++) {
    // A file that fits in one slab is one write: cheaper by direct system calls.
    const direct = item.size !== undefined && item.size <= context.pool.slabBytes;
    const file = new IncompleteFile(item.destination, context.directories, { direct });
    const job: FileJob<FileSource> = { item, file, signal, context, meter, identity };
    try {
      const received = await receiveAndCommit(job);
      meter.finished(received.size);
      return { path: item.path, destination: item.destination, size: received.size, sha256: received.digests.sha256 };
    } catch (error) {
      await file.discard();
      if (signal.aborted) throw signal.reason;
      if (error instanceof SameContentAgain && mismatch !== undefined) {
        const final = new IntegrityFailure(`${mismatch.message}; ${error.message}, so it was not downloaded again`);
        throw new DownloadFailure(item.path, item.source.description, attempt - 1, final);
      }
      if (error instanceof IntegrityFailure && attempt < INTEGRITY_ATTEMPTS) {
        mismatch = error;
        identity.downloadFailed();
        meter.reset(`${error.message}; deleted it`);
        continue;
      }
      throw error instanceof Failure ? new DownloadFailure(item.path, item.source.description, attempt, error) : error;
    }
  }
}

function usesParts(
  item: TransferItem & { readonly source: ByteSource },
  context: EngineContext,
): item is TransferItem & { readonly source: ByteSource; size: number } {
  return (
    item.source.supportsRanges &&
    item.size !== undefined &&
    item.size >= context.parallelThresholdBytes &&
    item.size > context.partSizeBytes
  );
}

/** Receives the file, checks it and renames it into place. */
async function receiveAndCommit(anyJob: FileJob<FileSource>): Promise<Received> {
  const commit = async (received: Received) => {
    verify(anyJob.item, received);
    await anyJob.file.commit();
    return received;
  };
  const source = anyJob.item.source;
  if (isAssembled(source)) return commit(await receiveAssembled({ ...anyJob, item: { ...anyJob.item, source } }));
  const job: FileJob = { ...anyJob, item: { ...anyJob.item, source } };
  const { item, context } = job;
  if (usesParts(item, context)) {
    try {
      return await commit(await receiveParts(job, item.size));
    } catch (error) {
      if (!(error instanceof RangesNotHonoured) || job.signal.aborted) throw error;
      await job.file.truncate();
      job.meter.reset(`${error.message}: the server does not honour Range`);
    }
  }
  // The connection slot is held until the file is closed and renamed: with a thousand
  // small files, at most `concurrency` of them are ever open.
  return context.limit(async () => commit(await receiveStream(job)));
}

function verify(item: TransferItem, received: Received): void {
  if (item.size !== undefined && received.size !== item.size) {
    throw new IntegrityFailure(`size: expected ${item.size} bytes, received ${received.size}`);
  }
  const mismatches = digestMismatches(item.expected, received.digests);
  if (mismatches.length > 0) {
    throw new IntegrityFailure(
      mismatches.map(({ name, expected, actual }) => `${name}: expected ${expected}, got ${actual}`).join("; "),
    );
  }
}
