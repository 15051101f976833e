import { UserError } from "../errors/user-error.js";
import { FileMeter, type EngineContext, type FileJob } from "./context.js";
import { digestMismatches } from "./digests.js";
import { IncompleteFile } from "./incomplete-file.js";
import { IntegrityFailure, TransferFailure } from "../errors/failures.js";
import { RangesNotHonoured, receiveParts } from "./receive-parts.js";
import { receiveStream, type Received } from "./receive-stream.js";
import { type TransferItem, type TransferredFile } from "./types.js";

/**
 * One file, start to finish: receive it (in parts or one stream), check size and every
 * digest, rename `.incomplete` onto the destination. A size or digest mismatch deletes
 * the file and fetches it once more; a second mismatch, or a failure retrying cannot
 * fix, becomes a UserError naming the file. No `.incomplete` file survives a failure.
 */
const INTEGRITY_ATTEMPTS = 2;

export async function transferFile(
  item: TransferItem,
  context: EngineContext,
  signal: AbortSignal,
): Promise<TransferredFile> {
  const meter = new FileMeter(item.path, item.size, context.progress);

  for (let attempt = 1; ; attempt++) {
    const file = new IncompleteFile(item.destination, context.directories);
    const job: FileJob = { item, file, signal, context, meter };
    try {
      const received = await receiveAndCommit(job);
      meter.finished(received.size);
      return { path: item.path, destination: item.destination, size: received.size, sha256: received.digests.sha256 };
    } catch (error) {
      await file.discard();
      if (signal.aborted) throw signal.reason;
      if (error instanceof IntegrityFailure && attempt < INTEGRITY_ATTEMPTS) {
        meter.reset(`${error.message}; deleted it`);
        continue;
      }
      throw explain(item, error, attempt);
    }
  }
}

function usesParts(item: TransferItem, context: EngineContext): item is TransferItem & { size: number } {
  return (
    item.source.supportsRanges &&
    item.size !== undefined &&
    item.size >= context.parallelThresholdBytes &&
    item.size > context.partSizeBytes
  );
}

/** Receives the file, checks it and renames it into place. */
async function receiveAndCommit(job: FileJob): Promise<Received> {
  const { item, context } = job;
  const commit = async (received: Received) => {
    verify(item, received);
    await job.file.commit();
    return received;
  };
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

function explain(item: TransferItem, error: unknown, attempts: number): unknown {
  const context = { file: item.path, from: item.source.description };
  if (error instanceof IntegrityFailure) {
    return new UserError(
      {
        what: `Downloaded ${item.path} does not match what the source lists for it`,
        context,
        cause: `${error.message} (downloaded ${attempts} times)`,
        fix: [
          "The file may have changed on the server after it was listed: run the fetch again, or pin a commit/version.",
          "A proxy or cache between you and the server may alter the file: try without it (network.proxy, https_proxy).",
        ],
      },
      { cause: error },
    );
  }
  if (error instanceof TransferFailure) {
    return new UserError(
      {
        what: `Failed to download ${item.path}`,
        context: { ...context, url: error.url },
        cause: error.message,
        fix: fixesFor(error),
      },
      { cause: error },
    );
  }
  if (error instanceof Error && error.message.startsWith("a git blob id cannot be checked")) {
    return new UserError({ what: `Cannot verify ${item.path}`, context, cause: error.message }, { cause: error });
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (error instanceof Error && typeof code === "string" && code.startsWith("E")) {
    // A local file system error (ENOSPC, EACCES, EROFS...), not the network's.
    return new UserError(
      {
        what: `Failed to write ${item.path}`,
        context: { ...context, to: `${item.destination}.incomplete` },
        cause: error.message,
        ...(code === "ENOSPC" ? { fix: ["Free space where the output is written (the Nix store, or --out)."] } : {}),
      },
      { cause: error },
    );
  }
  return error;
}

function fixesFor(failure: TransferFailure): string[] {
  if (failure.status === 401 || failure.status === 403) {
    return [
      "Check that the token is given to the fetcher and has access to this file (inside Nix builds: the daemon's environment).",
    ];
  }
  if (failure.status === 404) return ["Check that the file still exists at this revision/version."];
  if (failure.status === 429)
    return ["The server is rate limiting: wait a few minutes, or use a token (higher limits), then try again."];
  if (failure.status === undefined || failure.status >= 500 || failure.status === 408) {
    return [
      "Check the network connection and proxy settings (https_proxy, no_proxy, network.proxy), then try again.",
      "On a slow or flaky link, raise network.retry.maxAttempts or network.timeout.read.",
    ];
  }
  return [];
}
