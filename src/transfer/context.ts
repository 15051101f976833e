import type { LimitFunction } from "p-limit";
import type { RetryOptions, RetryPolicy } from "../retry/retry.js";
import type { TransferFailure } from "../errors/failures.js";
import type { ByteSource, FileSource, TransferItem } from "./types.js";
import type { ProgressReporter } from "../progress/types.js";
import type { Bandwidth } from "./bandwidth.js";
import type { DigestSink } from "./digests.js";
import type { ContentIdentity } from "./connection.js";
import type { Directories, IncompleteFile } from "./incomplete-file.js";
import type { LowSpeedLimit } from "./low-speed.js";
import type { SlabPool } from "./slab-pool.js";

/** What every transfer of one transferAll call shares. */
export interface EngineContext {
  /**
   * One slot per connection: files and parts together. Its concurrency grows during the
   * transfer (connection-governor.ts), up to maxConnections.
   */
  readonly limit: LimitFunction;
  /** The most connection slots `limit` will ever have (`network.concurrency`). */
  readonly maxConnections: number;
  /**
   * Assembled files (AssembledSource) being received at once: their pieces take connection
   * slots, so the files themselves take none; this bounds how many plan and buffer at a time.
   */
  readonly assemblies: LimitFunction;
  readonly bandwidth: Bandwidth;
  /** All memory between the network and the disk and hash (hashBufferBytes). */
  readonly pool: SlabPool;
  /** Where a file's bytes are hashed (this thread or a hashing thread). */
  readonly digestsFor: (item: TransferItem, size: number | undefined) => DigestSink;
  readonly directories: Directories;
  readonly policy: RetryPolicy;
  readonly progress: ProgressReporter;
  readonly partSizeBytes: number;
  readonly parallelThresholdBytes: number;
  readonly lowSpeed: LowSpeedLimit;
}

/** One file being received (by default from a ByteSource). */
export interface FileJob<S extends FileSource = ByteSource> {
  readonly item: TransferItem & { readonly source: S };
  readonly file: IncompleteFile;
  readonly signal: AbortSignal;
  readonly context: EngineContext;
  readonly meter: FileMeter;
  /** The validators of the file's answers, across its downloads (connection.ts). */
  readonly identity: ContentIdentity;
}

/**
 * Cumulative bytes of one file, reported as progress. The file counts as started when
 * its first connection opens, not when it is queued behind others.
 */
export class FileMeter {
  readonly #path: string;
  readonly #size: number | undefined;
  readonly #progress: ProgressReporter;
  #received = 0;
  #started = false;

  constructor(path: string, size: number | undefined, progress: ProgressReporter) {
    this.#path = path;
    this.#size = size;
    this.#progress = progress;
  }

  /** Called whenever a connection for this file opens; reports the start once. */
  opening(): void {
    if (this.#started) return;
    this.#started = true;
    this.#progress.fileStarted(this.#path, this.#size);
  }

  finished(size: number): void {
    this.opening();
    this.#progress.fileFinished(this.#path, size);
  }

  get received(): number {
    return this.#received;
  }

  add(bytes: number): void {
    this.#received += bytes;
    this.#progress.fileProgress(this.#path, this.#received);
  }

  /** The file starts over (server ignored Range, or a second try after a bad digest). */
  reset(reason: string): void {
    this.#received = 0;
    this.#progress.fileProgress(this.#path, 0);
    this.#progress.fileRetrying(this.#path, reason);
  }

  retrying(reason: string): void {
    this.#progress.fileRetrying(this.#path, reason);
  }
}

/**
 * Retry options for one stream of a file: failures that received bytes do not count
 * against `maxAttempts`, but the total is capped at 4 × maxAttempts plus one per GiB
 * (a flaky link may cut a 50 GiB single stream many times; a server that sends one
 * byte per connection must still end).
 */
export function streamRetryOptions(
  job: FileJob<FileSource>,
  bytes: number | undefined,
  madeProgress: () => boolean,
): RetryOptions {
  const { policy } = job.context;
  const perGiB = Math.floor((bytes ?? 0) / 2 ** 30);
  return {
    policy,
    signal: job.signal,
    maxTotalAttempts: 4 * policy.maxAttempts + perGiB,
    madeProgress,
    onRetry: (failure: TransferFailure, delayMs: number) =>
      job.meter.retrying(`${failure.message}; retrying in ${(delayMs / 1000).toFixed(1)} s`),
  };
}
