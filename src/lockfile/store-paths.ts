import { parseSriSha256 } from "../nar/sri.js";
import { lockedBlobName, lockedSmallFilesName } from "../nix/names.js";
import { fixedOutputStorePath } from "../nix/store-path.js";
import type { LockEntry, LockedFile } from "./types.js";

/**
 * The fixed-output store paths a lock entry names, computed without Nix (src/nix/store-path.ts):
 * one per large file, `model-blob-<sha256>` with a flat sha256, and one for the small files,
 * `<name>-files` with the recursive narHash. `add` puts its downloads at exactly these
 * paths and `fromLock` asks for exactly these, so the first build needs no network.
 */
export interface LockedStorePaths {
  /** Large files by sha256 (two paths with the same content share one). */
  readonly blobs: ReadonlyMap<string, string>;
  /** null when every file is large. */
  readonly smallFiles: string | null;
}

export function lockedBlobPath(file: Pick<LockedFile, "sha256">, storeDir?: string): string {
  return fixedOutputStorePath({
    mode: "flat",
    sha256: Buffer.from(file.sha256, "hex"),
    name: lockedBlobName(file.sha256),
    ...(storeDir === undefined ? {} : { storeDir }),
  });
}

export function lockedSmallFilesPath(name: string, narHash: string, storeDir?: string): string {
  return fixedOutputStorePath({
    mode: "recursive",
    sha256: parseSriSha256(narHash),
    name: lockedSmallFilesName(name),
    ...(storeDir === undefined ? {} : { storeDir }),
  });
}

export function lockedStorePaths(name: string, entry: LockEntry, storeDir?: string): LockedStorePaths {
  const blobs = new Map<string, string>();
  for (const file of entry.files) if (file.large) blobs.set(file.sha256, lockedBlobPath(file, storeDir));
  return {
    blobs,
    smallFiles: entry.smallFiles === null ? null : lockedSmallFilesPath(name, entry.smallFiles.narHash, storeDir),
  };
}
