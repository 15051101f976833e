import { createReadStream } from "node:fs";
import { lstat, readdir, readFile, realpath, stat } from "node:fs/promises";
import { createHash } from "node:crypto";
import { basename, dirname, join, relative, sep } from "node:path";
import { GIT_OID, SHA256_HEX } from "../util/hex-ids.js";
import { gitBlobHasher, gitBlobOid, gitTreeOid, lfsPointer } from "./git-objects.js";
import { defaultIsLfs } from "./lfs-heuristic.js";
import type { RepoLocation } from "./discovery.js";
import type { DirectoryListing, GatedMode, HubRepo, RepoFile, Snapshot } from "./types.js";

/**
 * Reads one repo folder (Hub cache layout: refs/, snapshots/<commit>/, blobs/) into the
 * model the routes serve. Only metadata is read for symlinked snapshot entries: the blob's
 * name is its etag (40-hex git blob id, or 64-hex LFS sha256), its size comes from stat.
 * Snapshot entries that are plain files (caches written with symlinks disabled) are hashed
 * once here.
 *
 * Safety: the server only ever opens paths recorded here, and a snapshot entry is recorded
 * only if its real path is a regular file directly inside the repo's blobs/ folder or inside
 * the snapshot folder itself. A symlink that leads anywhere else (`/etc/passwd`, another repo)
 * is skipped with a warning, never followed at request time.
 */

type Warn = (message: string) => void;

function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel !== "" && !rel.startsWith(`..${sep}`) && rel !== ".." && !rel.startsWith(sep);
}

async function realpathOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await realpath(path);
  } catch {
    return undefined;
  }
}

async function hashFile(path: string, size: number): Promise<{ gitOid: string; sha256: string }> {
  const git = gitBlobHasher(size);
  const sha256 = createHash("sha256");
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    git.update(chunk);
    sha256.update(chunk);
  }
  return { gitOid: git.digest("hex"), sha256: sha256.digest("hex") };
}

function lfsFile(path: string, sha256: string, size: number, contentPath: string): RepoFile {
  const pointer = lfsPointer(sha256, size);
  return {
    path,
    size,
    oid: gitBlobOid(pointer),
    lfs: { sha256, size, pointerSize: Buffer.byteLength(pointer) },
    etag: sha256,
    contentPath,
  };
}

interface Folders {
  /** Real path of the repo's blobs/ folder, if it has one. */
  readonly blobs: string | undefined;
}

async function loadSnapshotFile(
  repoPath: string,
  entryPath: string,
  snapshotRoot: string,
  folders: Folders,
  warn: Warn,
): Promise<RepoFile | undefined> {
  const info = await lstat(entryPath);
  if (info.isFile()) {
    if (!isInside(entryPath, snapshotRoot)) return undefined;
    const { gitOid, sha256 } = await hashFile(entryPath, info.size);
    return defaultIsLfs(repoPath, info.size)
      ? lfsFile(repoPath, sha256, info.size, entryPath)
      : { path: repoPath, size: info.size, oid: gitOid, etag: gitOid, contentPath: entryPath };
  }
  if (!info.isSymbolicLink()) {
    warn(`skipping ${entryPath}: not a file, directory or symlink`);
    return undefined;
  }
  const target = await realpathOrUndefined(entryPath);
  if (target === undefined) {
    warn(`skipping ${entryPath}: broken symlink (blob missing)`);
    return undefined;
  }
  if (folders.blobs === undefined || dirname(target) !== folders.blobs) {
    warn(`skipping ${entryPath}: it points outside the repo's blobs/ folder (to ${target})`);
    return undefined;
  }
  const blob = await stat(target);
  if (!blob.isFile()) {
    warn(`skipping ${entryPath}: its blob is not a regular file`);
    return undefined;
  }
  const name = target.slice(folders.blobs.length + 1);
  if (SHA256_HEX.test(name)) return lfsFile(repoPath, name, blob.size, target);
  if (GIT_OID.test(name)) return { path: repoPath, size: blob.size, oid: name, etag: name, contentPath: target };
  // A blob not named by its hash (some other tool's cache): hash it like a plain file.
  const { gitOid, sha256 } = await hashFile(target, blob.size);
  return defaultIsLfs(repoPath, blob.size)
    ? lfsFile(repoPath, sha256, blob.size, target)
    : { path: repoPath, size: blob.size, oid: gitOid, etag: gitOid, contentPath: target };
}

async function walkSnapshot(snapshotRoot: string, folders: Folders, warn: Warn): Promise<Map<string, RepoFile>> {
  const files = new Map<string, RepoFile>();
  const walk = async (dir: string, prefix: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const full = join(dir, entry.name);
      const repoPath = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
      if (entry.isDirectory()) {
        await walk(full, repoPath);
        continue;
      }
      if (entry.isSymbolicLink() && (await stat(full).catch(() => undefined))?.isDirectory()) {
        // The Hub cache never links directories; following one could leave the repo or loop.
        warn(`skipping ${full}: a symlink to a directory`);
        continue;
      }
      const file = await loadSnapshotFile(repoPath, full, snapshotRoot, folders, warn);
      if (file) files.set(repoPath, file);
    }
  };
  await walk(snapshotRoot, "");
  return files;
}

/** Directory listings (git tree ids, children in git byte order) for a snapshot's files. */
export function buildDirectories(files: ReadonlyMap<string, Pick<RepoFile, "oid">>): Map<string, DirectoryListing> {
  const children = new Map<string, { directories: Set<string>; files: string[] }>();
  const node = (path: string) => {
    let entry = children.get(path);
    if (!entry) {
      entry = { directories: new Set(), files: [] };
      children.set(path, entry);
    }
    return entry;
  };
  node("");
  for (const path of files.keys()) {
    const parts = path.split("/");
    for (let depth = 1; depth < parts.length; depth++) {
      node(parts.slice(0, depth - 1).join("/")).directories.add(parts.slice(0, depth).join("/"));
    }
    node(parts.slice(0, -1).join("/")).files.push(path);
  }
  const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
  const baseName = (path: string) => path.slice(path.lastIndexOf("/") + 1);
  const listings = new Map<string, DirectoryListing>();
  const build = (path: string): DirectoryListing => {
    const entry = children.get(path)!;
    const directories = [...entry.directories].sort(byBytes);
    const fileNames = [...entry.files].sort(byBytes);
    const oid = gitTreeOid([
      ...directories.map((dir) => ({ name: baseName(dir), kind: "directory" as const, oid: build(dir).oid })),
      ...fileNames.map((file) => ({ name: baseName(file), kind: "file" as const, oid: files.get(file)!.oid })),
    ]);
    const listing = { oid, directories, files: fileNames };
    listings.set(path, listing);
    return listing;
  };
  build("");
  return listings;
}

async function readRefs(
  folder: string,
  snapshots: ReadonlyMap<string, Snapshot>,
  warn: Warn,
): Promise<Map<string, string>> {
  const refs = new Map<string, string>();
  const root = await realpathOrUndefined(join(folder, "refs"));
  if (root === undefined) return refs;
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const name = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        await walk(full, name);
      } else if (entry.isFile()) {
        // huggingface_hub writes no trailing newline and reads without strip; tolerate one anyway.
        const commit = (await readFile(full, "utf8")).trim();
        if (!GIT_OID.test(commit)) warn(`ignoring ref ${name} in ${folder}: not a commit hash`);
        else if (!snapshots.has(commit)) warn(`ignoring ref ${name} in ${folder}: no snapshot for commit ${commit}`);
        else refs.set(name, commit);
      }
    }
  };
  await walk(root, "");
  return refs;
}

async function readGatedMarker(folder: string): Promise<GatedMode> {
  try {
    const marker = await lstat(join(folder, ".gated"));
    if (!marker.isFile()) return false;
    return (await readFile(join(folder, ".gated"), "utf8")).trim() === "manual" ? "manual" : "auto";
  } catch {
    return false;
  }
}

async function hasMarker(folder: string, name: string): Promise<boolean> {
  return (await lstat(join(folder, name)).catch(() => undefined))?.isFile() ?? false;
}

export async function loadRepo(location: RepoLocation, warn: Warn): Promise<HubRepo> {
  // blobs/ may itself be a link (a validated output links to the raw output's blobs/), but it
  // must lead to a folder named blobs: a link to / would otherwise make every file servable.
  let blobs = await realpathOrUndefined(join(location.folder, "blobs"));
  if (blobs !== undefined && basename(blobs) !== "blobs") {
    warn(`ignoring ${join(location.folder, "blobs")}: it links to ${blobs}, which is not a blobs/ folder`);
    blobs = undefined;
  }
  const folders: Folders = { blobs };
  const snapshotsRoot = await realpath(join(location.folder, "snapshots"));
  const snapshots = new Map<string, Snapshot>();
  for (const commit of (await readdir(snapshotsRoot)).sort()) {
    const snapshotRoot = await realpathOrUndefined(join(snapshotsRoot, commit));
    if (!GIT_OID.test(commit) || snapshotRoot === undefined || !(await stat(snapshotRoot)).isDirectory()) {
      warn(`skipping ${join(location.folder, "snapshots", commit)}: not a snapshot folder named by a commit hash`);
      continue;
    }
    if (dirname(snapshotRoot) !== snapshotsRoot) {
      warn(`skipping ${join(location.folder, "snapshots", commit)}: it links outside snapshots/ (to ${snapshotRoot})`);
      continue;
    }
    const files = await walkSnapshot(snapshotRoot, folders, warn);
    const mtime = (await stat(snapshotRoot)).mtime;
    snapshots.set(commit, {
      commit,
      files,
      directories: buildDirectories(files),
      lastModified: mtime.toISOString(),
    });
  }
  return {
    type: location.type,
    id: location.id,
    folder: location.folder,
    origin: location.origin,
    refs: await readRefs(location.folder, snapshots, warn),
    snapshots,
    gated: await readGatedMarker(location.folder),
    private: await hasMarker(location.folder, ".private"),
    xet: await hasMarker(location.folder, ".xet"),
  };
}
