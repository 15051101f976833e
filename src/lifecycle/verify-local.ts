import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { defaultStoreDir } from "../nix/store-path.js";
import { humanBytes } from "../progress/format.js";
import { logger } from "../util/log.js";

/**
 * `verify --deep`: the local copies hashed again, file by file — what `nix-store
 * --verify-path` would catch (a byte changed on disk, by a failing disk or a hand that
 * remounted the store read-write), but named per file. A copy is only read when it is a
 * regular file inside the store of the size recorded, so a hostile link cannot make
 * verify read /dev/zero or a file outside the store.
 */
export interface LocalCopy {
  /** The file's path in the model. */
  readonly path: string;
  /** Where its bytes are: a path in the store (links are followed). */
  readonly file: string;
  readonly size: number;
  readonly sha256: string;
}

export interface LocalCheck {
  readonly checked: number;
  readonly bytes: number;
  readonly damaged: readonly { readonly path: string; readonly file: string; readonly why: string }[];
  /** Recorded files with no copy in the store (a lock entry not downloaded). */
  readonly absent: number;
}

export async function checkLocalCopies(
  name: string,
  copies: readonly LocalCopy[],
  { expectedFiles }: { readonly expectedFiles?: number } = {},
): Promise<LocalCheck> {
  const storeDir = await realpath(defaultStoreDir()).catch(() => defaultStoreDir());
  const total = copies.reduce((sum, copy) => sum + copy.size, 0);
  logger.info(`${name}: hashing ${copies.length} local file${copies.length === 1 ? "" : "s"} (${humanBytes(total)})…`);
  const damaged: { path: string; file: string; why: string }[] = [];
  let bytes = 0;
  for (const copy of copies) {
    const why = await damage(copy, storeDir);
    if (why !== null) damaged.push({ path: copy.path, file: copy.file, why });
    else bytes += copy.size;
  }
  return {
    checked: copies.length,
    bytes,
    damaged,
    absent: Math.max(0, (expectedFiles ?? copies.length) - copies.length),
  };
}

/** Why a copy is not what was recorded; null when it is. */
async function damage(copy: LocalCopy, storeDir: string): Promise<string | null> {
  let real: string;
  try {
    real = await realpath(copy.file);
  } catch (error) {
    return `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
  }
  if (!real.startsWith(`${storeDir}/`)) return `leads outside the store (${real})`;
  const info = await stat(real);
  if (!info.isFile()) return "is not a regular file";
  if (info.size !== copy.size) return `is ${info.size} bytes, not ${copy.size}`;
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(real, { end: Math.max(0, copy.size - 1), highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
  }
  const sha256 = hash.digest("hex");
  return sha256 === copy.sha256 ? null : `has sha256 ${sha256}, not ${copy.sha256}`;
}
