import { TransferFailure } from "../../errors/failures.js";
import type { HttpClient } from "../../http/client.js";
import type { AssembledSource, ByteSource, PieceFetcher } from "../../transfer/types.js";
import { logger } from "../../util/log.js";
import {
  assembleFile,
  BufferBudget,
  ChunkPool,
  DEFAULT_POOL_FREE_BYTES,
  describeFetch,
  planDownload,
  type Reconstruction,
  type XorbFetch,
  XetFormatError,
} from "../../xet/index.js";
import type { CasClient } from "./cas.js";
import { SpillFolder } from "./spill-folder.js";
import { streamPiece } from "./stream-piece.js";
import { xorbRangeSource } from "./xorb-range.js";

/**
 * A file stored in Xet as the engine's AssembledSource: its reconstruction from the CAS
 * (files over 4 GiB in 4 GiB batches, as xet-core's spec advises for huge files, each with
 * fresh pre-signed URLs), its xorb ranges fetched through the engine and decoded by src/xet,
 * its bytes handed over in order. The engine checks size and sha256 as for any file.
 *
 * With `mode: "auto"`, a Xet failure that is not the user's (an abort) falls back to the
 * file's plain URL (`fallback`: the Hub's resolve, an LFS `basic` href), from the byte where
 * Xet stopped — the bytes are the same either way — with a log line saying why; and when the
 * bytes Xet gave fail the digest, the engine's second attempt takes the plain URL. With
 * `mode: "required"` a Xet failure fails the file, naming it.
 */
export type XetMode = "auto" | "required";

/** What every Xet file of one fetch shares. */
export interface XetDownloads {
  readonly http: HttpClient;
  readonly cas: CasClient;
  readonly mode: XetMode;
  /** Decoded bytes held ahead of the writers, all files together. */
  readonly budget: BufferBudget;
  /** Decoded bytes kept on disk for ranges the memory budget has no room for, all files together. */
  readonly spillBudget: BufferBudget;
  /** Buffers for decoded chunks, used again by all files once their writers are done with them. */
  readonly pool: ChunkPool;
  /** Ranges of one file in flight at once (the engine's slots bound all of them). */
  readonly concurrency: number;
}

export interface XetFile {
  /** The file's path, for messages. */
  readonly path: string;
  /** The Xet file hash (64 lowercase hex). */
  readonly fileId: string;
  readonly size: number;
  /** The same bytes without Xet. */
  readonly fallback: ByteSource;
  /** What the fallback is, for the log: "resolve", "the LFS basic transfer". */
  readonly fallbackName: string;
}

const BATCH_BYTES = 4 * 1024 ** 3;

/**
 * Decoded bytes a fetch holds in memory ahead of its writers, all Xet files together
 * (BufferBudget): the range being written when ranges are whole xorbs (64 MiB), more when
 * they are smaller. With the engine's slab pool (24 MiB) this bounds a Xet fetch's memory
 * whatever the file sizes; ranges beyond it wait on disk (XET_SPILL_BYTES).
 */
const XET_BUFFER_BYTES = 64 * 1024 * 1024;

/**
 * Decoded bytes a fetch keeps on disk (in $TMPDIR) for ranges ahead of its writers
 * (SpillFolder), all Xet files together: 8 of xet-core's 64 MiB xorbs, as many ranges as the
 * connections a fetch starts with. A range is signed whole, so each takes one connection;
 * without this, the memory budget above lets one such range download at a time. A range kept
 * here is written and read back once through the page cache (docs/sources/xet.md).
 */
const XET_SPILL_BYTES = 512 * 1024 * 1024;

/** A fetch's two budgets, in memory and on disk, and its chunk buffers, shared by all its Xet files (XetDownloads). */
export function xetBudgets(): Pick<XetDownloads, "budget" | "spillBudget" | "pool"> {
  return {
    budget: new BufferBudget(XET_BUFFER_BYTES),
    spillBudget: new BufferBudget(XET_SPILL_BYTES),
    pool: new ChunkPool(DEFAULT_POOL_FREE_BYTES),
  };
}

interface Batch {
  /** Inclusive, as a Range header; undefined asks for the whole file. */
  readonly range: { readonly start: number; readonly end: number } | undefined;
  readonly length: number;
}

/** One at a time: a listing that claims a petabyte costs one batch, which then comes up short, not a plan of them all. */
function* batchesOf(size: number): Generator<Batch> {
  if (size <= BATCH_BYTES) {
    yield { range: undefined, length: size };
    return;
  }
  for (let start = 0; start < size; start += BATCH_BYTES) {
    const end = Math.min(size, start + BATCH_BYTES) - 1;
    yield { range: { start, end }, length: end - start + 1 };
  }
}

export function xetFileSource(file: XetFile, downloads: XetDownloads): AssembledSource {
  let completedOnce = false;
  const plainly = (fetchPiece: PieceFetcher, from: number, signal: AbortSignal) =>
    from < file.size ? streamPiece(fetchPiece, file.fallback, { start: from, end: file.size }, signal) : [];

  return {
    description: `${file.path} (Xet file ${file.fileId.slice(0, 12)}…)`,
    async *assemble(fetchPiece, signal) {
      if (completedOnce && downloads.mode === "auto") {
        logger.warn(
          `${file.path}: the bytes from Xet did not match the file's sha256; downloading it again through ${file.fallbackName}`,
        );
        yield* plainly(fetchPiece, 0, signal);
        return;
      }
      let position = 0;
      try {
        for (const batch of batchesOf(file.size)) {
          if (batch.length === 0) continue;
          for await (const bytes of assembleBatch(file, batch, downloads, fetchPiece, signal)) {
            position += bytes.byteLength;
            yield bytes;
          }
        }
      } catch (error) {
        if (signal.aborted) throw error;
        const failure = asFailure(error, file);
        if (downloads.mode === "required") throw failure;
        logger.warn(
          `${file.path}: the Xet download failed (${failure.message}); downloading ${position > 0 ? `the rest, from byte ${position},` : "it"} through ${file.fallbackName} instead`,
        );
        yield* plainly(fetchPiece, position, signal);
      }
      completedOnce = true;
    },
  };
}

async function* assembleBatch(
  file: XetFile,
  batch: Batch,
  downloads: XetDownloads,
  fetchPiece: PieceFetcher,
  signal: AbortSignal,
): AsyncGenerator<Uint8Array> {
  const { cas, http } = downloads;
  let latest = await cas.reconstruction(file.fileId, batch.range, signal);
  let pending: Promise<Reconstruction> | undefined;
  const sameRange = (entry: XorbFetch, stale: XorbFetch) =>
    entry.chunks.start === stale.chunks.start &&
    entry.chunks.end === stale.chunks.end &&
    entry.bytes.start === stale.bytes.start &&
    entry.bytes.end === stale.bytes.end;
  const find = (reconstruction: Reconstruction, stale: XorbFetch) =>
    reconstruction.fetches.get(stale.xorb)?.find((entry) => sameRange(entry, stale));
  // A refused (expired) URL: one new reconstruction serves every range that asks at once.
  const renew = async (stale: XorbFetch, renewSignal: AbortSignal): Promise<XorbFetch> => {
    const known = find(latest, stale);
    if (known !== undefined && known.url !== stale.url) return known;
    pending ??= cas.reconstruction(file.fileId, batch.range, renewSignal).finally(() => {
      pending = undefined;
    });
    latest = await pending;
    const fresh = find(latest, stale);
    if (fresh === undefined) {
      throw new XetFormatError(
        "reconstruction",
        `reconstruction: asked again for fresh URLs, the CAS no longer offers ${describeFetch(stale)}`,
      );
    }
    return fresh;
  };
  const plan = planDownload(latest, { length: batch.length, exact: batch.range === undefined });
  const spill = new SpillFolder();
  try {
    yield* assembleFile(plan, {
      fetchRange: (fetch, receive, rangeSignal, onSlot) =>
        fetchPiece(
          xorbRangeSource(http, fetch, renew),
          { start: fetch.bytes.start, end: fetch.bytes.end + 1 },
          receive,
          rangeSignal,
          onSlot,
        ),
      concurrency: downloads.concurrency,
      budget: downloads.budget,
      spill,
      spillBudget: downloads.spillBudget,
      pool: downloads.pool,
      signal,
    });
  } finally {
    spill.dispose();
  }
}

/** A Xet data error as a typed failure naming the file; HTTP failures are already typed. */
function asFailure(error: unknown, file: XetFile): Error {
  if (error instanceof XetFormatError) {
    return new TransferFailure(`the Xet data for ${file.path} is unusable (${error.code}): ${error.message}`, {
      retryable: false,
      code: "NMR_BAD_RESPONSE",
      cause: error,
    });
  }
  return error instanceof Error ? error : new Error(String(error));
}
