/**
 * The contract between source adapters and the shared transfer engine.
 *
 * An adapter resolves what to download and hands the engine TransferItems; the
 * engine moves the bytes (parallel files, ranged parts, resume, retries, bandwidth
 * cap, progress), hashes them while writing, and checks size and digests. Adapters
 * never retry, hash or write file contents themselves (docs/architecture.md).
 */

import type { RetryPolicy } from "../retry/retry.js";
import type { ProgressReporter } from "../progress/types.js";

/** Digests the source vouches for; every one given is checked. Lowercase hex. */
export interface ExpectedDigests {
  readonly sha256?: string;
  /** Git blob id: sha1("blob <size>\0" + content). The Hub's oid for non-LFS files. */
  readonly gitBlobSha1?: string;
  /** Plain sha1 of the content. */
  readonly sha1?: string;
  /** Plain md5 of the content (an S3 single-part ETag). */
  readonly md5?: string;
}

/** A body being received. `start` is the offset of the first byte yielded. */
export interface OpenedBody {
  readonly body: AsyncIterable<Uint8Array>;
  /** Offset of the first byte of `body` in the file (0 when the range was ignored). */
  readonly start: number;
  /** Total size of the file when the response tells it (Content-Range or Content-Length on a full response). */
  readonly totalSize: number | undefined;
  /** Releases the connection early (on abort or after an error). */
  cancel(): Promise<void>;
  /**
   * False when offsets in `body` cannot be asked for with Range (the server compressed
   * the body and it is being decoded): after a cut the engine starts the file again
   * instead of resuming. Absent means true.
   */
  readonly resumable?: boolean;
  /**
   * What identifies the exact bytes this answer carries, when the source can tell: a strong
   * ETag, a Last-Modified date with the size, a git blob id. Two answers with the same
   * validator carry the same bytes, so a file that failed its digest check is not
   * downloaded again to fail the same way (see transfer-file.ts). Absent: unknown.
   */
  readonly validator?: string;
}

/**
 * Where a file's bytes come from. `open` asks for [start, end) (end exclusive,
 * undefined = to the end of the file). A source that cannot honour a range returns
 * the whole body with start = 0 and the engine adapts.
 *
 * Errors thrown by `open` or while iterating `body` should be TransferFailures (or
 * Node system errors, which count as retryable network failures).
 */
export interface ByteSource {
  open(range: { readonly start: number; readonly end?: number }, signal: AbortSignal): Promise<OpenedBody>;
  /** Where the bytes come from, safe to print (no query string, no credentials). */
  readonly description: string;
  /** Whether ranged parts may be requested in parallel (false for sources known not to support Range). */
  readonly supportsRanges: boolean;
}

/**
 * Downloads bytes [range.start, range.end) of `source` through the engine — one connection
 * slot, retries with resume after a cut, the bandwidth cap — handing each piece to `receive`
 * in order, every byte once. Resolves when the range has arrived. A promise `receive` returns
 * is awaited before the next read (back-pressure); an error it throws ends the download at
 * once, without a retry. `onSlot` is called once the piece has its connection slot, which it
 * keeps until it has arrived or failed, across its retries.
 */
export type PieceFetcher = (
  source: ByteSource,
  range: { readonly start: number; readonly end: number },
  receive: (bytes: Uint8Array) => void | Promise<void>,
  signal: AbortSignal,
  onSlot?: () => void,
) => Promise<void>;

/**
 * A file made from pieces of other resources rather than downloaded as itself (Xet: ranges
 * of xorbs, decoded and put in order). `assemble` yields the file's bytes from the first, in
 * order, fetching every piece with `fetchPiece`; the engine writes, hashes and checks them as
 * it does any file. Called again after a size or digest mismatch: a source that can reach
 * the bytes another way may take it then.
 */
export interface AssembledSource {
  /** Where the bytes come from, safe to print (no query string, no credentials). */
  readonly description: string;
  /**
   * The file's bytes in order. Each array is read before the next is asked for, and not kept:
   * the source may reuse its memory then (Xet reads ranges kept on disk into one buffer).
   */
  assemble(fetchPiece: PieceFetcher, signal: AbortSignal): AsyncIterable<Uint8Array>;
}

/** Where a file comes from: itself (a ByteSource) or assembled from pieces. */
export type FileSource = ByteSource | AssembledSource;

export function isAssembled(source: FileSource): source is AssembledSource {
  return "assemble" in source;
}

export interface TransferItem {
  /** Path in the model (for messages, progress and the report), e.g. "model-00001.safetensors". */
  readonly path: string;
  readonly source: FileSource;
  /** Exact size when the source lists it; undefined when only the response will tell. */
  readonly size: number | undefined;
  readonly expected: ExpectedDigests;
  /** Absolute path of the file to create. Written via "<destination>.incomplete" and renamed when verified. */
  readonly destination: string;
}

export interface TransferredFile {
  readonly path: string;
  readonly destination: string;
  readonly size: number;
  /** sha256 of the content, always computed (the meta file records it). */
  readonly sha256: string;
}

/**
 * What the engine reads of the network settings (src/http/settings.ts HttpSettings has
 * them all): concurrency, the retry policy and the bandwidth cap. Timeouts, proxies and
 * CAs belong to the HttpClient whose byteSource() made the items.
 */
export interface TransferSettings extends RetryPolicy {
  /** Simultaneous connections, files and ranged parts together. */
  readonly concurrency: number;
  /** Shared cap on download throughput across all transfers, bytes per second. */
  readonly bandwidthLimitBytesPerSec: number | null;
  /**
   * A connection receiving less than this many bytes per second on average, over
   * lowSpeedTimeMs of waiting for the network, is cut and retried (low-speed.ts); 0: off.
   */
  readonly lowSpeedLimitBytesPerSec: number;
  readonly lowSpeedTimeMs: number;
}

/** How transferAll runs (src/transfer/engine.ts). Sizes are bytes. */
export interface TransferOptions {
  readonly settings: TransferSettings;
  /** Told about each file (begin/end are the caller's: it knows the whole fetch). */
  readonly progress?: ProgressReporter;
  /** Aborting cancels every transfer and removes every `.incomplete` file. */
  readonly signal?: AbortSignal;
  /** Files at least this large go in parallel ranged parts when the source allows. Default 64 MiB. */
  readonly parallelThresholdBytes?: number;
  /** Size of one ranged part. Default 6 MiB. */
  readonly partSizeBytes?: number;
  /**
   * Most bytes held in memory, across the whole fetch, between the network and the disk
   * and hash: write-behind, and parts that arrived ahead of the hash frontier. Default
   * 3 MiB per connection, at least 16 MiB. The engine's memory bound (see engine.ts).
   */
  readonly hashBufferBytes?: number;
  /**
   * Threads that hash files of 1 MiB or more, off the main thread. Default: one per core
   * beyond the second, at most 4 (none on two cores), and none when such files add up to
   * less than 64 MiB; 0 hashes everything on the main thread.
   */
  readonly hashThreads?: number;
}
