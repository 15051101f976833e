import type { RepoFile, Snapshot } from "./types.js";

/**
 * The tree API's entries and their pagination. Order follows the Hub: at each level the
 * sub-directories first, then the files, each in byte order; with `recursive` a directory's
 * contents follow it directly (depth-first). Pages are cut by position; the cursor is an
 * opaque token that clients only copy from the `Link` header.
 */

export interface LfsEntryJson {
  readonly oid: string;
  readonly size: number;
  readonly pointerSize: number;
}

export interface TreeEntryJson {
  readonly type: "file" | "directory";
  readonly oid: string;
  readonly size: number;
  readonly path: string;
  readonly lfs?: LfsEntryJson;
  /** The Xet file id, for LFS files of Xet repos. */
  readonly xetHash?: string;
  readonly lastCommit?: { readonly id: string; readonly title: string; readonly date: string };
}

/** A file's Xet hash when it has one (an LFS file of a Xet repo). */
export type XetHashOf = (file: RepoFile) => string | undefined;

const noXet: XetHashOf = () => undefined;

export function fileEntry(file: RepoFile, xetHashOf: XetHashOf = noXet): TreeEntryJson {
  const xetHash = xetHashOf(file);
  return {
    type: "file",
    oid: file.oid,
    size: file.size,
    path: file.path,
    ...(file.lfs ? { lfs: { oid: file.lfs.sha256, size: file.lfs.size, pointerSize: file.lfs.pointerSize } } : {}),
    ...(xetHash === undefined ? {} : { xetHash }),
  };
}

export function directoryEntry(path: string, oid: string): TreeEntryJson {
  return { type: "directory", oid, size: 0, path };
}

/** With `expand=true` the Hub adds each entry's last commit; a mirror only knows the snapshot's. */
export function withLastCommit(entry: TreeEntryJson, snapshot: Snapshot): TreeEntryJson {
  return { ...entry, lastCommit: { id: snapshot.commit, title: "Snapshot", date: snapshot.lastModified } };
}

/** Entries under `path` ("" = root), or undefined if it is not a directory of the snapshot. */
export function listTree(
  snapshot: Snapshot,
  path: string,
  recursive: boolean,
  xetHashOf: XetHashOf = noXet,
): TreeEntryJson[] | undefined {
  if (!snapshot.directories.has(path)) return undefined;
  const entries: TreeEntryJson[] = [];
  const visit = (dir: string) => {
    const listing = snapshot.directories.get(dir)!;
    for (const sub of listing.directories) {
      entries.push(directoryEntry(sub, snapshot.directories.get(sub)!.oid));
      if (recursive) visit(sub);
    }
    for (const file of listing.files) entries.push(fileEntry(snapshot.files.get(file)!, xetHashOf));
  };
  visit(path);
  return entries;
}

/** The entry for one path (file or directory), as paths-info answers it. */
export function pathEntry(snapshot: Snapshot, path: string, xetHashOf: XetHashOf = noXet): TreeEntryJson | undefined {
  const file = snapshot.files.get(path);
  if (file) return fileEntry(file, xetHashOf);
  const directory = path === "" ? undefined : snapshot.directories.get(path);
  return directory ? directoryEntry(path, directory.oid) : undefined;
}

export function encodeCursor(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString("base64url");
}

/** The offset a cursor stands for; undefined for a cursor this server did not issue. */
export function decodeCursor(cursor: string): number | undefined {
  try {
    const { offset } = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { offset?: unknown };
    return typeof offset === "number" && Number.isSafeInteger(offset) && offset >= 0 ? offset : undefined;
  } catch {
    return undefined;
  }
}

export function paginate<T>(items: readonly T[], offset: number, pageSize: number): { page: T[]; nextOffset?: number } {
  const end = offset + pageSize;
  return end < items.length ? { page: items.slice(offset, end), nextOffset: end } : { page: items.slice(offset) };
}
