import { setMaxListeners } from "node:events";
import { availableParallelism } from "node:os";
import { isAbsolute, normalize } from "node:path";
import pLimit, { type LimitFunction } from "p-limit";
import { retryPolicyFrom } from "../retry/retry.js";
import { logger } from "../util/log.js";
import { totalBytes } from "../util/units.js";
import { silentProgress } from "../progress/silent.js";
import { type Bandwidth, bandwidthFor } from "./bandwidth.js";
import { reclaimBuffers } from "./buffer-reclaimer.js";
import { ConnectionGovernor } from "./connection-governor.js";
import type { EngineContext } from "./context.js";
import { StreamingDigests } from "./digests.js";
import { HashWorkers } from "./hash-workers.js";
import { Directories } from "./incomplete-file.js";
import { preflight } from "./preflight.js";
import { SlabPool, slabBytesFor } from "./slab-pool.js";
import { transferFile } from "./transfer-file.js";
import type { TransferItem, TransferOptions, TransferredFile } from "./types.js";

/**
 * The transfer engine (docs/architecture.md, "The transfer engine"): every byte any source
 * adapter downloads moves
 * through `transferAll`.
 *
 * - Files in parallel, large files (>= parallelThresholdBytes, source supports ranges)
 *   in parallel ranged parts; at most `settings.concurrency` connections in total, starting
 *   with STARTING_CONNECTIONS and raised while more pay (connection-governor.ts).
 * - Each stream resumes with Range after a cut; retries follow the shared policy
 *   (src/retry/retry.ts), honouring Retry-After; failures that made progress do not count.
 * - Hashes are computed while writing: sha256 always, plus every expected digest.
 *   Size or digest mismatch: the file is fetched again once, then a UserError.
 * - One bandwidth cap (settings.bandwidthLimitBytesPerSec) shared by all streams.
 * - A low-speed limit per connection (low-speed.ts), as curl's --speed-limit.
 * - Before anything moves, the listed sizes are checked and compared with the free space
 *   (preflight.ts); parts are planned lazily, so memory does not grow with a file's size.
 * - The first fatal error aborts everything else; no `.incomplete` file is left behind.
 *
 * The byte path: undici's chunk → one copy into a ~1 MiB slab of a SlabPool
 * (slab-pool.ts; ~256 KiB for a fetch under 64 MiB, slabBytesFor) → a sealed slab is
 * written at its offset and hashed in file order
 * (slab-writer.ts, in-order-hasher.ts), the hash on a hashing thread for files of 1 MiB
 * or more when there are more than two cores (hash-workers.ts) → the slab is reused.
 * Network Buffers die young.
 *
 * Memory bound, whatever the file sizes:
 *   hashBufferBytes (default 3 MiB per starting connection, at least 16 MiB: 24 MiB for
 *     8, whatever the governor later adds): every slab, i.e. all bytes between the
 *     network and the disk and hash, parts ahead of the hash frontier included; slabs are
 *     allocated on first need, and a stream at the frontier holds ≤ 5 (5 MiB). More
 *     connections than the pool was sized for make parts ahead of the frontier wait for
 *     slabs sooner, not hold more (16 connections on 24 MiB: docs/bench.md, fourth round)
 *   + each hashing thread (≤ 4, none on a 2-core machine, none below 64 MiB of files of
 *     1 MiB or more): ~10 MiB, its own V8 isolate
 *   + what undici and the socket buffer (≤ 64 KiB per connection in undici)
 *   + young garbage: network chunks, freed by scavenges (no full GC needed: 1 GiB in
 *     8 parts ran 1 mark-compact, down from ~51 when parts held the chunks themselves).
 *   + chunks that waited long enough to be promoted (a part waiting for a slab keeps what
 *     undici and its socket had read): at most ≈ 8 MiB before buffer-reclaimer.ts has V8
 *     collect them.
 *   + per large file, a planned part (two numbers) for each connection slot up to the cap.
 * Measured (test/transfer/memory-bound.test.ts, 512 MiB over loopback): RSS grows by
 * about hashBufferBytes + 70 MiB with parts, 60–70 MiB in one stream.
 *
 * Defaults: parts of 6 MiB (hf_transfer uses 10 MB) for files of 64 MiB or more, and a
 * pool of 3 MiB per connection: a part ahead of the frontier may hold about half of itself
 * before it waits for slabs; when parts run at the same speed, the frontier part is by
 * then about half done too, and its bytes are hashed as they arrive. Interleaved
 * (docs/bench.md, third round): through the rate-limited CDN, 24 MiB with 8 MiB parts was
 * 1.02–1.03× slower than 32 MiB, 24 MiB with 6 MiB parts 0.89× (faster); over loopback the
 * 6 MiB parts cost no CPU (0.99×). 16 MiB with 8 MiB parts made the CDN case 1.10× slower.
 */
const DEFAULT_PARALLEL_THRESHOLD_BYTES = 64 * 1024 * 1024;
const DEFAULT_PART_SIZE_BYTES = 6 * 1024 * 1024;
const HASH_BUFFER_BYTES_PER_CONNECTION = 3 * 1024 * 1024;
const MIN_HASH_BUFFER_BYTES = 16 * 1024 * 1024;
/**
 * Connections at the start; the governor adds CONNECTION_STEP at a time, up to
 * `network.concurrency`, while each step brings CONNECTION_GAIN times the throughput.
 * Through a CDN capping each connection at 25 MiB/s, 256 MiB took 1.35 s on 8, 1.06 s on
 * 12 and 1.02 s on 16; over loopback, which the CPU bounds, 16 cost 3 % (docs/bench.md,
 * fourth round). A window is 250 ms (≈ 100 MiB over loopback). Over loopback the
 * throughput still climbs for about a second after the start (≈ 170 → 430 MiB/s in
 * 125 ms windows), so windows of 125 ms took that climb for a gain and kept 12 or 16
 * connections there; 250 ms windows did less often, and since the governor only steps
 * from a steady rate, not at all (connection-governor.ts).
 */
const STARTING_CONNECTIONS = 8;
const CONNECTION_STEP = 4;
const CONNECTION_GAIN = 1.2;
const GOVERNOR_WINDOW_MS = 250;
/**
 * Files at least this large are hashed on a hashing thread (hash-workers.ts); smaller
 * ones on the main thread, where hashing a few KiB costs less than the messages would.
 */
const OFF_THREAD_HASH_MIN_BYTES = 1024 * 1024;
/**
 * A hashing thread costs ≈ 0.05 s of CPU to start (its own isolate and node's bootstrap),
 * about what sha256 of 64 MiB costs on the main thread: below that, in all, it is not started.
 */
const HASH_THREAD_MIN_TOTAL_BYTES = 64 * 1024 * 1024;

/** The slab pool's size: a window ahead of the hash frontier per connection (see above). */
function defaultHashBufferBytes(concurrency: number): number {
  return Math.max(MIN_HASH_BUFFER_BYTES, Math.max(1, concurrency) * HASH_BUFFER_BYTES_PER_CONNECTION);
}

/**
 * Hashing threads: none on two cores or fewer, else one per core beyond two, at most 4
 * (sha256 per file is sequential). A thread pays only when a core is free for it: the
 * main thread, the kernel's network and disk work (and, on a build machine, the rest of
 * the build) already share two. There a thread added work instead: starting its V8
 * isolate (≈ 0.05–0.09 s of CPU, ≈ 10 MiB), a message and a wake-up each way per slab, and
 * bytes hashed on another core's cache. 1 GiB over loopback hashed on the main thread
 * took 0.92× the CPU and 0.91× the wall time, and 256 MiB through the rate-limited CDN
 * 0.84× / 0.90×, each 9 MiB less peak RSS (docs/bench.md, third round). For the same
 * start-up cost, none either when the files it would hash (sizes unknown count as large)
 * add up to less than HASH_THREAD_MIN_TOTAL_BYTES.
 */
function defaultHashThreads(items: readonly TransferItem[], cores = availableParallelism()): number {
  let offThreadBytes = 0;
  for (const { size } of items) {
    if (size === undefined) offThreadBytes = Number.POSITIVE_INFINITY;
    else if (size >= OFF_THREAD_HASH_MIN_BYTES) offThreadBytes += size;
  }
  return offThreadBytes < HASH_THREAD_MIN_TOTAL_BYTES ? 0 : Math.max(0, Math.min(4, cores - 2));
}

export async function transferAll(
  items: readonly TransferItem[],
  options: TransferOptions,
): Promise<TransferredFile[]> {
  assertDistinctDestinations(items);
  await preflight(items);
  const { settings } = options;
  const aborter = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, aborter.signal]) : aborter.signal;
  // Every file and part listens on it: many listeners are expected, not a leak.
  setMaxListeners(0, signal);
  const hashThreads = options.hashThreads ?? defaultHashThreads(items);
  const workers = hashThreads > 0 ? new HashWorkers(hashThreads) : undefined;
  const maxConnections = Math.max(1, settings.concurrency);
  const startingConnections = Math.min(STARTING_CONNECTIONS, maxConnections);
  const limit = pLimit(startingConnections);
  const hashBufferBytes = options.hashBufferBytes ?? defaultHashBufferBytes(startingConnections);
  const governor = new ConnectionGovernor(
    { start: startingConnections, max: maxConnections, step: CONNECTION_STEP, gain: CONNECTION_GAIN },
    performance.now(),
  );
  const context: EngineContext = {
    limit,
    maxConnections,
    assemblies: pLimit(startingConnections),
    bandwidth: counted(bandwidthFor(settings.bandwidthLimitBytesPerSec), governor),
    pool: new SlabPool(hashBufferBytes, slabBytesFor(hashBufferBytes, totalBytes(items.map((item) => item.size)))),
    digestsFor: (item, size) =>
      workers !== undefined && (size === undefined || size >= OFF_THREAD_HASH_MIN_BYTES)
        ? workers.digests(item.expected, size)
        : new StreamingDigests(item.expected, size),
    directories: new Directories(),
    policy: retryPolicyFrom(settings),
    progress: options.progress ?? silentProgress,
    partSizeBytes: options.partSizeBytes ?? DEFAULT_PART_SIZE_BYTES,
    parallelThresholdBytes: options.parallelThresholdBytes ?? DEFAULT_PARALLEL_THRESHOLD_BYTES,
    lowSpeed: { limitBytesPerSec: settings.lowSpeedLimitBytesPerSec, timeMs: settings.lowSpeedTimeMs },
  };

  let firstError: unknown;
  let failed = false;
  let settled: PromiseSettledResult<TransferredFile>[];
  const transfers: Promise<TransferredFile>[] = new Array(items.length);
  const stopGoverning = governConnections(limit, governor);
  const stopReclaiming = reclaimBuffers(() => context.pool.allocatedBytes);
  try {
    // Connection slots are taken in call order: largest files first, so the few long
    // transfers run beside the many short ones instead of after them (500 small files and
    // four of 4 MiB: the four used to start last and end the fetch alone).
    for (const index of largestFirst(items)) {
      transfers[index] = transferFile(items[index]!, context, signal).catch((error: unknown) => {
        if (!failed) {
          failed = true;
          firstError = error;
          // Cancel every other transfer; each removes its own .incomplete file before settling.
          aborter.abort(error);
        }
        throw error;
      });
    }
    settled = await Promise.allSettled(transfers);
  } finally {
    stopGoverning();
    stopReclaiming();
    await workers?.close();
  }
  if (failed) throw firstError;
  return settled.map((result) => {
    if (result.status === "rejected") throw result.reason;
    return result.value;
  });
}

/** The shared bandwidth cap, also counting every received byte for the governor. */
function counted(bandwidth: Bandwidth, governor: ConnectionGovernor): Bandwidth {
  if (governor.settled) return bandwidth;
  return {
    take: (bytes, signal) => {
      governor.received(bytes);
      return bandwidth.take(bytes, signal);
    },
  };
}

/**
 * Ticks the governor every window and applies its slot count to `limit` (p-limit starts
 * queued work at once when its concurrency grows). Returns the function that stops it;
 * the timer is unref'd and stops itself when the governor settles.
 */
function governConnections(limit: LimitFunction, governor: ConnectionGovernor): () => void {
  if (governor.settled) return () => undefined;
  const timer = setInterval(() => {
    const use = { allBusy: limit.activeCount >= limit.concurrency, waiting: limit.pendingCount > 0 };
    const before = limit.concurrency;
    const slots = governor.tick(performance.now(), use);
    if (slots !== undefined) {
      limit.concurrency = slots;
      const mibPerSec = (governor.baselineBytesPerMs * 1000) / 2 ** 20;
      logger.debug(`connections: ${before} → ${slots} (measured ${mibPerSec.toFixed(0)} MiB/s before)`);
    }
    if (governor.settled) clearInterval(timer);
  }, GOVERNOR_WINDOW_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** Indices of `items` by size, largest first; unknown sizes last; equal sizes in listing order. */
function largestFirst(items: readonly TransferItem[]): number[] {
  return items.map((_, index) => index).sort((a, b) => (items[b]!.size ?? -1) - (items[a]!.size ?? -1));
}

function assertDistinctDestinations(items: readonly TransferItem[]): void {
  const seen = new Set<string>();
  for (const item of items) {
    if (!isAbsolute(item.destination)) {
      throw new TypeError(`transfer destination must be an absolute path: ${item.destination}`);
    }
    const key = normalize(item.destination);
    // Deduplication is the caller's job (one item per blob); two writers to one file is a bug.
    if (seen.has(key)) throw new TypeError(`two transfers write ${item.destination}`);
    seen.add(key);
  }
}
