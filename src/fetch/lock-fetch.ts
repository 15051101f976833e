import { copyFile, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../errors/user-error.js";
import { manifestCommit, snapshotRefs } from "../layout/huggingface.js";
import {
  checkNewEntry,
  diffFiles,
  type FileDiff,
  isPrintable,
  type ListedFile,
  type LockEntry,
  type LockSource,
  type LockedFile,
  lockedBlobPath,
  lockedSmallFilesPath,
  type SourceIds,
} from "../lockfile/index.js";
import type { PlannedFile, ResolvedModel } from "../model/resolved-model.js";
import { narHash } from "../nar/hash.js";
import { lockedBlobName, lockedSmallFilesName, rawDerivationName } from "../nix/names.js";
import { defaultStoreDir } from "../nix/store-path.js";
import { checkSnapshotPaths } from "../layout/path-length.js";
import type { TransferItem } from "../transfer/types.js";
import { type FetchOptions, withResolvedModel } from "./fetch-model.js";
import { ollamaManifest } from "./ollama-manifest.js";
import type { FetchSpec } from "./spec.js";
import { totalBytes } from "../util/units.js";

/**
 * Locking a model (`nix-model-repo add` and `update`, docs/lockfile.md): resolve the
 * source once, tell from the listing which files are new or changed against the entry
 * the lock has, download only those (once, through the one engine), and lay them out in
 * a scratch folder exactly as the fixed-output paths `fromLock` asks for will be —
 * `model-blob-<sha256>` files and a `<name>-files/` folder of small files by sha256 — for
 * the caller to add to the store. Unchanged small files come from the store path of the
 * entry's previous small files, so only changed bytes cross the network.
 */
export interface LockRequest {
  readonly name: string;
  /** The source as the user wrote it, recorded in the entry. */
  readonly source: LockSource;
  readonly spec: FetchSpec;
  /** The entry the lock has now (update); undefined when adding. */
  readonly previous: LockEntry | undefined;
  /** Files at least this large get a path of their own. */
  readonly largeFileBytes: number;
  /** Scratch space, empty, on the file system the store is on when possible (files are moved, not copied). */
  readonly workdir: string;
  /** Which of these store paths are valid (nix-store --check-validity); none when Nix is not installed. */
  readonly validPaths: (paths: readonly string[]) => Promise<ReadonlySet<string>>;
  /** Only resolve and compare: no download. */
  readonly dryRun: boolean;
}

export interface LockPlan {
  /** What the source resolves to now (the adapter's resolved: commit, version, manifestDigest). */
  readonly resolved: Readonly<Record<string, string>>;
  readonly diff: FileDiff;
  /** What the update downloads: new and changed files whose bytes are nowhere local. */
  readonly download: { readonly files: number; readonly bytes: number | undefined };
}

/** A fixed-output path to add to the store, laid out in the workdir under the name Nix will give it. */
export interface PathToAdd {
  readonly file: string;
  readonly mode: "flat" | "recursive";
  /** The store path `fromLock` asks for; the added path must be this one. */
  readonly storePath: string;
}

export interface LockOutcome {
  readonly plan: LockPlan;
  /** Undefined for a dry run. */
  readonly entry?: LockEntry;
  readonly toAdd?: readonly PathToAdd[];
}

/** A file of the new listing, with where its bytes are. */
interface Candidate {
  readonly listed: ListedFile;
  /** undefined for the Ollama manifest, which comes with the resolution. */
  readonly planned: PlannedFile | undefined;
  /** The locked file it is the same as, when the listing says so. */
  readonly unchanged: LockedFile | undefined;
}

export async function lockModel(request: LockRequest, options: FetchOptions): Promise<LockOutcome> {
  return withResolvedModel(request.spec, options, async ({ model, subject, transfer }) => {
    if (model.unpack !== undefined) {
      throw new UserError(
        {
          what: "Archives to unpack cannot be locked file by file",
          fix: [
            "Drop --unpack and lock the archive as a file, or pin the unpacked model with fetchModel { hash = ...; } (nix-model-repo prefetch prints it).",
          ],
        },
        { exitCode: 2 },
      );
    }
    const manifest = ollamaManifest(model);
    const listed = listFiles(model, manifest);
    for (const file of listed) {
      if (!isPrintable(file.listed.path)) {
        throw new UserError({
          what: `Refusing a file path from ${subject}: it contains control characters`,
          context: { path: JSON.stringify(file.listed.path) },
          fix: ["A file name a terminal would act on is not locked. Exclude it with --files patterns."],
        });
      }
    }
    // What the whole-model fetch checks before a byte moves: every file's place in the
    // assembled snapshot fits the system's PATH_MAX (the assembly would fail after the download).
    if ((model.layout?.kind ?? "huggingface") === "huggingface") {
      checkSnapshotPaths(
        join(defaultStoreDir(), `${"0".repeat(32)}-${rawDerivationName(request.name)}`),
        listed.map((file) => file.listed.path),
      );
    }
    const diff = diffFiles(
      request.previous?.files ?? [],
      listed.map((file) => file.listed),
    );
    const unchanged = new Map(diff.unchanged.map(({ before, after }) => [after.path, before]));
    const candidates: Candidate[] = listed.map((file) => ({ ...file, unchanged: unchanged.get(file.listed.path) }));

    const local = await localCopies(request, candidates);
    const toDownload = candidates.filter((file) => needsDownload(file, local, request.largeFileBytes));
    const plan: LockPlan = {
      resolved: model.resolved,
      diff,
      download: {
        files: toDownload.length,
        bytes: totalBytes(toDownload.map((file) => file.listed.size)),
      },
    };
    if (request.dryRun) return { plan };

    const incoming = join(request.workdir, "incoming");
    const smallDir = join(request.workdir, lockedSmallFilesName(request.name));
    await mkdir(incoming, { recursive: true });
    await mkdir(smallDir, { recursive: true });

    // One transfer per content: files with the same blob name or vouched sha256 share it.
    const items: TransferItem[] = [];
    const transferOf = new Map<Candidate, number>();
    const byContent = new Map<string, number>();
    for (const file of toDownload) {
      const planned = file.planned!;
      const key = planned.blobName ?? file.listed.sha256;
      const existing = key === undefined ? undefined : byContent.get(key);
      if (existing !== undefined) {
        transferOf.set(file, existing);
        continue;
      }
      if (key !== undefined) byContent.set(key, items.length);
      transferOf.set(file, items.length);
      items.push({
        path: planned.path,
        source: planned.source,
        size: planned.size,
        expected: planned.expected,
        destination: join(incoming, String(items.length)),
      });
    }
    const transferred = items.length > 0 ? await transfer(items) : [];

    // Every file's content, size and place: from the lock, the store or the download.
    const contents = new Map<Candidate, { size: number; sha256: string; large: boolean }>();
    const moved = new Set<number>();
    const blobs = new Map<string, string>();
    for (const file of candidates) {
      const index = transferOf.get(file);
      if (index !== undefined) {
        const result = transferred[index]!;
        const large =
          file.unchanged?.large ?? (manifest?.path !== file.listed.path && result.size >= request.largeFileBytes);
        contents.set(file, { size: result.size, sha256: result.sha256, large });
        if (moved.has(index)) continue;
        moved.add(index);
        const destination = large
          ? join(request.workdir, lockedBlobName(result.sha256))
          : join(smallDir, result.sha256);
        if (large) blobs.set(result.sha256, destination);
        await moveOnce(result.destination, destination);
        continue;
      }
      const known = knownContent(file, request.largeFileBytes);
      contents.set(file, known);
      if (!known.large) await placeSmall(file, known.sha256, smallDir, local, manifest);
    }
    await rm(incoming, { recursive: true, force: true });

    const hasSmall = [...contents.values()].some((content) => !content.large);
    // The entry's narHash is the folder's: built here, so the two cannot differ.
    const smallNarHash = hasSmall ? (await narHash(smallDir)).sri : null;
    if (!hasSmall) await rm(smallDir, { recursive: true, force: true });
    // Checked before anything reaches the store: an ETag or a name the lock would refuse stops here.
    const entry = checkNewEntry(request.name, entryFor(request, model, candidates, contents, smallNarHash), subject);
    const toAdd: PathToAdd[] = [...blobs].map(([sha256, file]) => ({
      file,
      mode: "flat",
      storePath: lockedBlobPath({ sha256 }),
    }));
    if (smallNarHash !== null)
      toAdd.push({ file: smallDir, mode: "recursive", storePath: lockedSmallFilesPath(request.name, smallNarHash) });
    return { plan, entry, toAdd };
  });
}

/** The resolved model's files as a listing: what a lock entry's files are compared with. */
export function listFiles(
  model: ResolvedModel,
  manifest: ReturnType<typeof ollamaManifest>,
): { listed: ListedFile; planned: PlannedFile | undefined }[] {
  const files = model.files.map((planned) => ({
    planned,
    listed: {
      path: planned.path,
      size: planned.size,
      sha256: planned.expected.sha256,
      ids: sourceIdsOf(planned, model),
    },
  }));
  if (manifest === undefined) return files;
  return [
    ...files,
    {
      planned: undefined,
      listed: { path: manifest.path, size: manifest.bytes.byteLength, sha256: manifest.sha256, ids: {} },
    },
  ];
}

/** What the source itself calls the file (docs/lockfile.md, files[].ids). */
export function sourceIdsOf(file: PlannedFile, model: Pick<ResolvedModel, "layout">): SourceIds {
  const ids: { -readonly [K in keyof SourceIds]: string } = {};
  if (file.hubTreeEntry !== undefined) {
    ids.gitOid = file.hubTreeEntry.blobId;
    if (file.hubTreeEntry.lfs !== undefined) ids.lfsOid = file.hubTreeEntry.lfs.sha256;
  }
  if (file.etag !== undefined) ids.etag = file.etag;
  if (model.layout?.kind === "ollama" && file.expected.sha256 !== undefined)
    ids.digest = `sha256:${file.expected.sha256}`;
  return ids;
}

/**
 * Where bytes already on this machine can come from: the previous small files' store
 * path (for unchanged small files), and store paths of large files whose content the
 * listing vouches for (a weight file another model already has).
 */
interface LocalCopies {
  readonly previousSmall: string | undefined;
  readonly blobs: ReadonlySet<string>;
}

async function localCopies(request: LockRequest, candidates: readonly Candidate[]): Promise<LocalCopies> {
  const previousSmall =
    request.previous?.smallFiles == null
      ? undefined
      : lockedSmallFilesPath(request.name, request.previous.smallFiles.narHash);
  const blobPaths = new Map<string, string>();
  for (const file of candidates) {
    const sha256 = file.unchanged?.sha256 ?? file.listed.sha256;
    if (sha256 !== undefined) blobPaths.set(lockedBlobPath({ sha256 }), sha256);
  }
  const valid = await request.validPaths([...(previousSmall ? [previousSmall] : []), ...blobPaths.keys()]);
  return {
    previousSmall: previousSmall !== undefined && valid.has(previousSmall) ? previousSmall : undefined,
    blobs: new Set([...blobPaths].filter(([path]) => valid.has(path)).map(([, sha256]) => sha256)),
  };
}

function isLarge(file: Candidate, largeFileBytes: number): boolean | undefined {
  if (file.unchanged !== undefined) return file.unchanged.large;
  if (file.planned === undefined) return false; // the Ollama manifest
  return file.listed.size === undefined ? undefined : file.listed.size >= largeFileBytes;
}

/**
 * Whether a file's bytes must cross the network: a large file needs none when its
 * content is known (the lock has it unchanged, or the listing vouches for a sha256 the
 * store already holds); a small one when it is unchanged and the previous small files
 * are in the store. The manifest comes with the resolution.
 */
function needsDownload(file: Candidate, local: LocalCopies, largeFileBytes: number): boolean {
  if (file.planned === undefined) return false;
  const large = isLarge(file, largeFileBytes);
  if (file.unchanged !== undefined) return !large && local.previousSmall === undefined;
  const vouched = file.listed.sha256;
  return !(large === true && vouched !== undefined && local.blobs.has(vouched));
}

function knownContent(file: Candidate, largeFileBytes: number): { size: number; sha256: string; large: boolean } {
  if (file.unchanged !== undefined) {
    return { size: file.unchanged.size, sha256: file.unchanged.sha256, large: file.unchanged.large };
  }
  // A new file not downloaded: the manifest, or a large file the store already has.
  return { size: file.listed.size!, sha256: file.listed.sha256!, large: isLarge(file, largeFileBytes) ?? false };
}

async function placeSmall(
  file: Candidate,
  sha256: string,
  smallDir: string,
  local: LocalCopies,
  manifest: ReturnType<typeof ollamaManifest>,
): Promise<void> {
  const destination = join(smallDir, sha256);
  if (manifest !== undefined && file.listed.path === manifest.path) {
    await writeFile(destination, manifest.bytes).catch(ignoreExisting);
    return;
  }
  // needsDownload said the previous small files hold it.
  await copyFile(join(local.previousSmall!, sha256), destination).catch(ignoreExisting);
}

function ignoreExisting(error: NodeJS.ErrnoException): void {
  if (error.code !== "EEXIST") throw error;
}

async function moveOnce(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST" && (error as NodeJS.ErrnoException).code !== "ENOTEMPTY")
      throw error;
    await rm(from, { force: true });
  }
}

/** The lock entry for the new listing, as the layout writer would lay it out (src/layout). */
function entryFor(
  request: LockRequest,
  model: ResolvedModel,
  candidates: readonly Candidate[],
  contents: ReadonlyMap<Candidate, { size: number; sha256: string; large: boolean }>,
  smallNarHash: string | null,
): LockEntry {
  const huggingFace = (model.layout?.kind ?? "huggingface") === "huggingface";
  const files: LockedFile[] = candidates.map((file) => {
    const content = contents.get(file)!;
    return {
      path: file.listed.path,
      size: content.size,
      sha256: content.sha256,
      large: content.large,
      ...(huggingFace ? { blob: file.planned?.blobName ?? content.sha256 } : {}),
      ids: file.listed.ids,
    };
  });
  const smallFiles = smallNarHash === null ? null : { narHash: smallNarHash };
  if (!huggingFace) {
    return {
      source: request.source,
      layout: { kind: "ollama" },
      resolved: model.resolved,
      recorded: model.metaSource,
      files,
      smallFiles,
    };
  }
  const commit = model.commit ?? manifestCommit(files);
  return {
    source: request.source,
    layout: { kind: "huggingface", refs: [...snapshotRefs(model.refs)] },
    resolved: { ...model.resolved, commit },
    recorded: model.metaSource,
    files,
    smallFiles,
  };
}
