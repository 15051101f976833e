import { stat, statfs } from "node:fs/promises";
import { dirname } from "node:path";
import { DownloadFailure, InsufficientSpaceFailure, TransferFailure } from "../errors/failures.js";
import type { TransferItem } from "./types.js";

/**
 * What is checked before the first byte moves (docs/architecture.md, "The transfer engine").
 *
 * 1. Every listed size is one a file can have. A listing may claim anything; the engine's
 *    memory does not grow with a size (parts are planned lazily), but a size no storage
 *    holds is a broken or hostile source, refused here with its own message instead of a
 *    download that fails later. The rule: at most MAX_FILE_BYTES, 64 TiB, beyond the largest
 *    object any source the fetcher speaks to stores (S3: 50 TB; the Hub and Ollama's
 *    registry: far less) and far beyond any model file (the largest single GGUF blobs are
 *    about 1.5 TB). Every source's sizes reach the engine as TransferItem.size (Xet's
 *    too), so the rule holds for all of them.
 * 2. The planned bytes fit: for each file system the files go to, the sum of their listed
 *    sizes is compared with its free space (statfs, the blocks an unprivileged writer may
 *    use). Files without a listed size count as 0: what cannot be foreseen still ends in
 *    ENOSPC, with the message for that.
 */
export const MAX_FILE_BYTES = 2 ** 46;

/** Refuses a size no file has (see above); `path` names the file in the message. */
export function checkListedSize(size: number | undefined, path: string, from: string): void {
  if (size === undefined || (Number.isSafeInteger(size) && size >= 0 && size <= MAX_FILE_BYTES)) return;
  throw new DownloadFailure(
    path,
    from,
    0,
    new TransferFailure(
      `the source lists ${path} as ${size} bytes, more than the ${MAX_FILE_BYTES} bytes (64 TiB) the fetcher ` +
        "accepts for one file: no storage a model comes from holds a file that large, so the listing is broken or hostile",
      { retryable: false, code: "NMR_BAD_RESPONSE" },
    ),
  );
}

export async function preflight(items: readonly TransferItem[]): Promise<void> {
  for (const item of items) checkListedSize(item.size, item.path, item.source.description);
  await checkFreeSpace(items);
}

async function checkFreeSpace(items: readonly TransferItem[]): Promise<void> {
  const byFileSystem = new Map<number, { directory: string; needed: number }>();
  const deviceOf = new Map<string, Promise<{ dev: number; directory: string }>>();
  for (const item of items) {
    if (item.size === undefined || item.size === 0) continue;
    const directory = dirname(item.destination);
    let device = deviceOf.get(directory);
    if (device === undefined) {
      device = existingAncestor(directory);
      deviceOf.set(directory, device);
    }
    const { dev, directory: existing } = await device;
    const entry = byFileSystem.get(dev) ?? { directory: existing, needed: 0 };
    entry.needed += item.size;
    byFileSystem.set(dev, entry);
  }
  for (const { directory, needed } of byFileSystem.values()) {
    const available = await freeBytes(directory);
    if (available !== undefined && needed > available) {
      throw new InsufficientSpaceFailure(directory, needed, available);
    }
  }
}

/** The nearest directory that exists (the files' own folders are made as they are written). */
async function existingAncestor(directory: string): Promise<{ dev: number; directory: string }> {
  for (let current = directory; ; current = dirname(current)) {
    try {
      return { dev: (await stat(current)).dev, directory: current };
    } catch (error) {
      const parent = dirname(current);
      if ((error as NodeJS.ErrnoException).code !== "ENOENT" || parent === current) throw error;
    }
  }
}

/**
 * Free bytes for an unprivileged writer; undefined where statfs cannot tell (the write will):
 * a file system that reports no size at all (some FUSE and network file systems) is not
 * taken to be full.
 */
async function freeBytes(directory: string): Promise<number | undefined> {
  try {
    const info = await statfs(directory);
    if (info.blocks === 0) return undefined;
    return info.bavail * info.bsize;
  } catch {
    return undefined;
  }
}
