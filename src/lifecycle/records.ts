import { readlink } from "node:fs/promises";
import { basename, join } from "node:path";
import { type LockEntry, type LockedFile, lockedStorePaths, type SourceIds } from "../lockfile/index.js";
import { validStorePaths } from "../nix/store.js";
import type { StoreModel } from "./inventory.js";
import type { LocalCopy } from "./verify-local.js";
import { GIT_OID } from "../util/hex-ids.js";

/**
 * What `verify` compares a listing with, and where the bytes are on this machine: a lock
 * entry's files (with the ids the source gave them) and its fixed-output paths; or a
 * store model's meta file, with the ids its layout still shows — a Hugging Face blob is
 * named by the Hub's etag (the git blob id of a file kept in git, the LFS oid of a large
 * one), an Ollama blob by its digest.
 */
export async function lockEntryCopies(name: string, entry: LockEntry): Promise<LocalCopy[]> {
  const paths = lockedStorePaths(name, entry);
  const wanted = [...paths.blobs.values(), ...(paths.smallFiles === null ? [] : [paths.smallFiles])];
  const valid = await validStorePaths(wanted);
  return entry.files.flatMap((file) => {
    const storePath = file.large ? paths.blobs.get(file.sha256)! : paths.smallFiles;
    if (storePath === null || !valid.has(storePath)) return [];
    return [
      {
        path: file.path,
        file: file.large ? storePath : join(storePath, file.sha256),
        size: file.size,
        sha256: file.sha256,
      },
    ];
  });
}

export interface StoreRecord {
  readonly files: readonly LockedFile[];
  readonly copies: readonly LocalCopy[];
}

export async function storeModelRecord(model: StoreModel): Promise<StoreRecord> {
  const raw = model.raw ?? model.path;
  const { meta } = model;
  const files: LockedFile[] = [];
  const copies: LocalCopy[] = [];
  for (const file of meta.files) {
    let where: string;
    let ids: SourceIds = {};
    if (meta.layout === "ollama") {
      where = join(raw, ...file.path.split("/"));
      const digest = /^blobs\/sha256-([0-9a-f]{64})$/.exec(file.path)?.[1];
      if (digest !== undefined) ids = { digest: `sha256:${digest}` };
    } else {
      where = join(raw, "snapshots", meta.resolved["commit"] ?? "", ...file.path.split("/"));
      ids = await hubIdsOf(where);
    }
    files.push({ path: file.path, size: file.size, sha256: file.sha256, large: false, ids });
    copies.push({ path: file.path, file: where, size: file.size, sha256: file.sha256 });
  }
  return { files, copies };
}

/** A snapshot link names its blob by the Hub's etag: a 40-hex one is the file's git blob id. */
async function hubIdsOf(link: string): Promise<SourceIds> {
  try {
    const blob = basename(await readlink(link));
    return GIT_OID.test(blob) ? { gitOid: blob } : {};
  } catch {
    return {};
  }
}
