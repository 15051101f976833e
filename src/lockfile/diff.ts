import { compareBytes } from "../util/canonical-json.js";
import { totalBytes } from "../util/units.js";
import { type LockedFile, SOURCE_ID_KEYS, type SourceIds } from "./types.js";

/**
 * What changed between the files a lock entry records and a new listing of the source,
 * told without downloading: by sha256 when the listing vouches for it, else by the
 * source's own ids (git oid, LFS oid, ETag, layer digest) and size. A file whose change
 * cannot be told (a listing with sizes only) counts as changed: it must be downloaded
 * to know.
 */
export interface ListedFile {
  readonly path: string;
  /** undefined when the listing does not say (a plain HTTP URL). */
  readonly size: number | undefined;
  /** When the listing vouches for the content sha256 (an LFS oid, an Ollama digest). */
  readonly sha256?: string | undefined;
  readonly ids: SourceIds;
}

export interface FileDiff {
  readonly added: readonly ListedFile[];
  readonly removed: readonly LockedFile[];
  readonly changed: readonly { readonly before: LockedFile; readonly after: ListedFile }[];
  readonly unchanged: readonly { readonly before: LockedFile; readonly after: ListedFile }[];
}

/**
 * true: the same content; false: different content; undefined: the listing cannot tell.
 */
export function sameContent(before: LockedFile, after: ListedFile): boolean | undefined {
  if (after.size !== undefined && after.size !== before.size) return false;
  if (after.sha256 !== undefined) return after.sha256 === before.sha256;
  let compared = 0;
  for (const key of SOURCE_ID_KEYS) {
    const old = before.ids[key];
    const now = after.ids[key];
    if (old === undefined || now === undefined) continue;
    if (old !== now) return false;
    compared++;
  }
  return compared > 0 && after.size !== undefined ? true : undefined;
}

export function diffFiles(before: readonly LockedFile[], after: readonly ListedFile[]): FileDiff {
  const old = new Map(before.map((file) => [file.path, file]));
  const now = new Set(after.map((file) => file.path));
  const added: ListedFile[] = [];
  const changed: { before: LockedFile; after: ListedFile }[] = [];
  const unchanged: { before: LockedFile; after: ListedFile }[] = [];
  for (const file of [...after].sort((a, b) => compareBytes(a.path, b.path))) {
    const locked = old.get(file.path);
    if (locked === undefined) added.push(file);
    else if (sameContent(locked, file) === true) unchanged.push({ before: locked, after: file });
    else changed.push({ before: locked, after: file });
  }
  const removed = before.filter((file) => !now.has(file.path)).sort((a, b) => compareBytes(a.path, b.path));
  return { added, removed, changed, unchanged };
}

/** Bytes a diff makes one download: what was added or changed (undefined when a size is unknown). */
export function bytesToDownload(diff: FileDiff): number | undefined {
  return totalBytes([...diff.added, ...diff.changed.map((change) => change.after)].map((file) => file.size));
}
