/**
 * The model lockfile (docs/lockfile.md): its types, reading it as untrusted input,
 * writing it deterministically and atomically, the store paths an entry names, the meta
 * file its output holds, and telling a changed file from a listing. A leaf-ish module:
 * it knows the lock's format and Nix's naming rules, nothing of sources or downloads.
 */
export * from "./types.js";
export {
  checkLockFile,
  checkNewEntry,
  emptyLock,
  isEntryName,
  isPrintable,
  lockDocument,
  parseLockFile,
  readLockFile,
} from "./read.js";
export { serializeLockFile, updateLockFile, withEntry, withoutEntry, writeLockFile } from "./write.js";
export { type LockedStorePaths, lockedBlobPath, lockedSmallFilesPath, lockedStorePaths } from "./store-paths.js";
export { entryMeta } from "./meta.js";
export { bytesToDownload, diffFiles, type FileDiff, type ListedFile, sameContent } from "./diff.js";
