import { createHash } from "node:crypto";
import { mkdirSync, symlinkSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { PlannedFile, ResolvedModel } from "../model/resolved-model.js";
import type { TransferItem, TransferredFile } from "../transfer/types.js";
import { compareBytes } from "../util/canonical-json.js";
import { buildMeta, writeMeta } from "./meta.js";
import type { ModelMeta } from "../model/meta.js";
import { outputPath } from "./output-path.js";
import { checkSnapshotPaths } from "./path-length.js";

/**
 * The Hugging Face layout (docs/architecture.md, "Layouts"): the output is one repo folder
 * of a Hub cache, exactly as huggingface_hub writes it, so `HF_HUB_CACHE` pointed at a
 * folder holding it (as models--org--name) loads offline.
 *
 *   blobs/<etag>                         content (etag: LFS sha256 or git blob sha1;
 *                                        content sha256 for sources without etags)
 *   snapshots/<commit>/<path>            relative symlink to ../../blobs/<etag>
 *   refs/<revision>                      the commit, no trailing newline
 *   trees/<commit>.json                  the fetched files' Hub tree entries (Hub sources)
 *   .nix-model-repo-meta.json
 *
 * Work is split in two so the engine can write blobs in place: `planBlobTransfers`
 * before the download, `finishHuggingFaceLayout` after it.
 */
export interface BlobPlan {
  readonly items: readonly TransferItem[];
  /** For each planned file (same order), the index of the transfer that provides its bytes. */
  readonly transferOf: readonly number[];
}

/** What the blob plan needs of each file. */
export type BlobFile = Pick<PlannedFile, "path" | "size" | "expected" | "blobName" | "source">;

/** What the snapshot needs of the resolved model, once its blobs are downloaded. */
export type Snapshot = Pick<ResolvedModel, "commit" | "refs" | "metaSource" | "resolved"> & {
  readonly files: readonly Pick<PlannedFile, "path" | "blobName" | "hubTreeEntry">[];
};

/** A snapshot file whose blob is in place under blobs/<blob>. */
export interface LinkedFile extends Pick<PlannedFile, "path" | "hubTreeEntry"> {
  readonly size: number;
  readonly sha256: string;
  readonly blob: string;
}

/** Files with the same blob name are downloaded once. Unnamed blobs get a temporary name. */
export function planBlobTransfers(out: string, files: readonly BlobFile[]): BlobPlan {
  const items: TransferItem[] = [];
  const byBlob = new Map<string, number>();
  const transferOf = files.map((file, index) => {
    if (file.blobName !== null) {
      const existing = byBlob.get(file.blobName);
      if (existing !== undefined) return existing;
      byBlob.set(file.blobName, items.length);
    }
    const name = file.blobName ?? `.unnamed-${index}`;
    items.push({
      path: file.path,
      source: file.source,
      size: file.size,
      expected: file.expected,
      destination: outputPath(out, "blobs", name),
    });
    return items.length - 1;
  });
  return { items, transferOf };
}

export async function finishHuggingFaceLayout(
  out: string,
  snapshot: Snapshot,
  plan: BlobPlan,
  transferred: readonly TransferredFile[],
): Promise<ModelMeta> {
  const blobNames = await nameBlobs(out, snapshot.files, plan, transferred);
  const files = snapshot.files.map((file, index): LinkedFile => {
    const result = transferred[plan.transferOf[index]!]!;
    return {
      path: file.path,
      size: result.size,
      sha256: result.sha256,
      blob: blobNames[index]!,
      ...(file.hubTreeEntry === undefined ? {} : { hubTreeEntry: file.hubTreeEntry }),
    };
  });
  return writeSnapshot(out, { ...snapshot, files });
}

/** The snapshot's links, refs, tree listing and the meta file, for files whose blobs are in place. */
export async function writeSnapshot(
  out: string,
  snapshot: Omit<Snapshot, "files"> & { readonly files: readonly LinkedFile[] },
): Promise<ModelMeta> {
  const { files } = snapshot;
  // Checked again here for what was only known after the download (an archive's entries).
  checkSnapshotPaths(
    out,
    files.map((file) => file.path),
  );
  const commit = snapshot.commit ?? manifestCommit(files);
  // Direct calls, one mkdir per folder: a link is one small system call, and as promises
  // each was a round trip through libuv's thread pool, made one after another while
  // nothing else runs (the transfer is over): ~0.3 s for 500 files (docs/bench.md).
  const folders = new Set<string>();
  for (const file of files) {
    const link = outputPath(out, "snapshots", commit, ...file.path.split("/"));
    const folder = dirname(link);
    if (!folders.has(folder)) {
      mkdirSync(folder, { recursive: true });
      folders.add(folder);
    }
    symlinkSync(blobLinkTarget(file.path, file.blob), link);
  }
  for (const ref of snapshotRefs(snapshot.refs)) {
    const refFile = outputPath(out, "refs", ...ref.split("/"));
    await mkdir(dirname(refFile), { recursive: true });
    // No trailing newline: huggingface_hub reads refs without stripping.
    await writeFile(refFile, commit, { flag: "wx" });
  }
  await writeTreeCache(out, commit, files);
  const meta = buildMeta({
    layout: "huggingface",
    source: snapshot.metaSource,
    resolved: { ...snapshot.resolved, commit },
    files: files.map(({ path, size, sha256 }) => ({ path, size, sha256 })),
  });
  await writeMeta(out, meta);
  return meta;
}

/**
 * huggingface_hub ≥ 1.22 keeps the tree listing of a commit in trees/<commit>.json, and
 * with HF_HUB_OFFLINE=1 `snapshot_download(revision=<commit>)` needs it: without it the
 * library tries to list the repo online and fails. It lists exactly the fetched files,
 * so the library's completeness check (every listed file present) holds for a `files`
 * subset too. Format: huggingface_hub _tree_cache.py (format_version 1, sorted keys, indent 1).
 * Only Hub sources have the real blob ids; for others no listing is written.
 */
async function writeTreeCache(out: string, commit: string, files: readonly LinkedFile[]): Promise<void> {
  if (files.length === 0 || files.some((file) => file.hubTreeEntry === undefined)) return;
  const entries = [...files]
    .sort((a, b) => compareCodePoints(a.path, b.path))
    .map((file) => {
      const entry = file.hubTreeEntry!;
      const info = {
        size: entry.size,
        blob_id: entry.blobId,
        ...(entry.lfs ? { lfs_sha256: entry.lfs.sha256, lfs_size: entry.lfs.size } : {}),
      };
      return [file.path, info] as const;
    });
  const tree = { format_version: 1, files: Object.fromEntries(entries) };
  await mkdir(outputPath(out, "trees"), { recursive: true });
  // Python's json.dump(indent=1) spacing, ensure_ascii escapes included, so the file is what the library itself writes.
  await writeFile(outputPath(out, "trees", `${commit}.json`), pythonJsonDump(tree), { flag: "wx" });
}

/** Python's `sorted()` on str compares code points, which is not JS's UTF-16 order. */
function compareCodePoints(a: string, b: string): number {
  const left = [...a];
  const right = [...b];
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const difference = left[i]!.codePointAt(0)! - right[i]!.codePointAt(0)!;
    if (difference !== 0) return difference;
  }
  return left.length - right.length;
}

/** json.dump(value, indent=1) with Python's default ensure_ascii=True. */
function pythonJsonDump(value: unknown): string {
  return JSON.stringify(value, null, 1).replace(
    /[\u007f-\uffff]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Renames temporarily named blobs to their content sha256, merging identical contents. */
async function nameBlobs(
  out: string,
  files: Snapshot["files"],
  plan: BlobPlan,
  transferred: readonly TransferredFile[],
): Promise<string[]> {
  const taken = new Set(files.flatMap((file) => (file.blobName === null ? [] : [file.blobName])));
  const names: string[] = [];
  for (const [index, file] of files.entries()) {
    if (file.blobName !== null) {
      names.push(file.blobName);
      continue;
    }
    // Unnamed blobs are never shared between files (planBlobTransfers), so each is renamed once.
    const result = transferred[plan.transferOf[index]!]!;
    if (taken.has(result.sha256)) {
      await rm(result.destination);
    } else {
      await rename(result.destination, outputPath(out, "blobs", result.sha256));
      taken.add(result.sha256);
    }
    names.push(result.sha256);
  }
  return names;
}

/** `snapshots/<commit>/a/b.bin` → `../../../blobs/<etag>`: one more "../" per directory level. */
function blobLinkTarget(path: string, blob: string): string {
  const depth = path.split("/").length - 1;
  return `${"../".repeat(2 + depth)}blobs/${blob}`;
}

/** The refs a snapshot gets: the resolved revision names, and `main` so default offline loads find it. */
export function snapshotRefs(refs: readonly string[]): readonly string[] {
  return refs.includes("main") ? refs : [...refs, "main"];
}

/** A commit id for sources without commits: sha1 over the sorted manifest (path, size, sha256). */
export function manifestCommit(files: readonly { path: string; size: number; sha256: string }[]): string {
  const manifest = [...files]
    .sort((a, b) => compareBytes(a.path, b.path))
    .map((file) => `${file.sha256} ${file.size} ${file.path}\n`)
    .join("");
  return createHash("sha1").update(manifest).digest("hex");
}
