/**
 * The reader side of the huggingface_hub cache, re-implemented for tests: how the real
 * library (v1.29, commit ee0a4510) finds files when it cannot reach the Hub. Each function
 * follows its Python original line by line, including its quirks, so a layout these accept
 * is one `HF_HUB_OFFLINE=1` programs accept:
 *
 * - `tryToLoadFromCache`     ← file_download.py `try_to_load_from_cache`
 * - `hfHubDownloadOffline`   ← file_download.py `hf_hub_download` → `_hf_hub_download_to_cache_dir`,
 *                              the branch taken when the HEAD call fails (offline)
 * - `snapshotDownloadOffline`← _snapshot_download.py `snapshot_download`, offline branch,
 *                              with the trees/<commit>.json completeness check
 * - `scanCacheDir`           ← utils/_cache_manager.py `scan_cache_dir` / `_scan_cached_repo`
 *
 * Quirks kept on purpose: refs are read without stripping (a trailing newline breaks every
 * lookup), `hf_hub_download` and `snapshot_download` resolve the cache dir's symlinks but
 * `try_to_load_from_cache` does not, `isfile`/`exists` follow symlinks (a dangling pointer
 * is a miss), and scan_cache_dir does not look at refs it cannot match, blob names or
 * absolute symlinks. `assertEveryFileFoundOffline` adds the project's stricter layout rules.
 *
 * Synchronous on purpose: it mirrors blocking Python calls, and tests read small trees.
 */
import { AssertionError } from "node:assert";
import { createHash } from "node:crypto";
import {
  createReadStream,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  statSync,
  type Stats,
} from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, isAbsolute, relative, resolve, sep } from "node:path";

// ---------------------------------------------------------------------------------------
// Errors, named after the Python exceptions so tests can compare outcomes by name.

/** huggingface_hub.errors.LocalEntryNotFoundError: not in the cache and the Hub is unreachable. */
export class LocalEntryNotFoundError extends Error {
  override name = "LocalEntryNotFoundError";
}
/** huggingface_hub.errors.IncompleteSnapshotError: trees/<commit>.json lists files the snapshot lacks. */
export class IncompleteSnapshotError extends LocalEntryNotFoundError {
  override name = "IncompleteSnapshotError";
  constructor(
    message: string,
    readonly missing: readonly string[],
  ) {
    super(message);
  }
}
/** huggingface_hub.errors.HFValidationError: a repo id the library refuses. */
export class HFValidationError extends Error {
  override name = "HFValidationError";
}
/**
 * huggingface_hub.errors.OfflineModeIsEnabled: under HF_HUB_OFFLINE=1 a call that needs the
 * network raises it instead of falling back to the cache (snapshot_download of a commit).
 */
export class OfflineModeIsEnabled extends Error {
  override name = "OfflineModeIsEnabled";
}
/** Python's ValueError: an invalid repo type, file name or pointer path. */
export class ValueError extends Error {
  override name = "ValueError";
}
/** huggingface_hub.errors.CacheNotFound: scan_cache_dir on a missing directory. */
export class CacheNotFound extends Error {
  override name = "CacheNotFound";
}
/** huggingface_hub.errors.CorruptedCacheException: one repo's problem, collected as a warning. */
class CorruptedCacheException extends Error {
  override name = "CorruptedCacheException";
}

/** try_to_load_from_cache's `_CACHED_NO_EXIST`: the file is known not to exist at that commit. */
export const CACHED_NO_EXIST: unique symbol = Symbol("CACHED_NO_EXIST");

// ---------------------------------------------------------------------------------------
// Names

export type RepoType = "model" | "dataset" | "space" | "kernel";
const REPO_TYPES_WITH_KERNEL: readonly string[] = ["model", "dataset", "space", "kernel"];
const SCANNABLE_REPO_TYPES: readonly string[] = ["dataset", "model", "space"];
const DEFAULT_REVISION = "main";

export interface LookupOptions {
  /** Branch, tag, or commit. Defaults to "main", as in the library. */
  readonly revision?: string;
  readonly repoType?: RepoType;
}

/**
 * Python's `re.compile(r"^[0-9a-f]{40}$").match`: `$` also matches before one final
 * newline, so "<40 hex>\n" counts as a commit hash there.
 */
const REGEX_COMMIT_HASH = /^[0-9a-f]{40}\n?$/;

/** file_download.py `repo_folder_name`: `models--org--name`, validating the id first. */
export function repoFolderName(repoId: string, repoType: RepoType = "model"): string {
  validateRepoId(repoId);
  return [`${repoType}s`, ...repoId.split("/")].join("--");
}

// Python's \w on str patterns: Unicode letters, digits and underscore.
const WORD = String.raw`[\p{L}\p{N}_]`;
const NAME_PART = new RegExp(String.raw`^${WORD}(?:[\p{L}\p{N}_.\-]*${WORD})?$`, "u");

/** utils/_validators.py `validate_repo_id` (REPO_ID_REGEX and the -- / .. / .git rules). */
export function validateRepoId(repoId: string): void {
  const parts = repoId.split("/");
  if (parts.length > 2) {
    throw new HFValidationError(
      `Repo id must be in the form 'repo_name' or 'namespace/repo_name': '${repoId}'. Use \`repo_type\` argument if needed.`,
    );
  }
  const name = parts[parts.length - 1] as string;
  const valid = parts.every((part) => NAME_PART.test(part)) && [...name].length <= 96;
  if (!valid) {
    throw new HFValidationError(
      "Repo id must use alphanumeric chars, '-', '_' or '.'. The name cannot start or end with '-' or '.' and the maximum length is 96:" +
        ` '${repoId}'.`,
    );
  }
  if (repoId.includes("--") || repoId.includes(".."))
    throw new HFValidationError(`Cannot have -- or .. in repo_id: '${repoId}'.`);
  if (repoId.endsWith(".git")) throw new HFValidationError(`Repo_id cannot end by '.git': '${repoId}'.`);
}

function checkRepoType(repoType: string): void {
  if (!REPO_TYPES_WITH_KERNEL.includes(repoType)) {
    throw new ValueError(
      `Invalid repo type: ${repoType}. Accepted repo types are: [None, 'model', 'dataset', 'space', 'kernel']`,
    );
  }
}

// ---------------------------------------------------------------------------------------
// The three offline readers

/**
 * `try_to_load_from_cache(repo_id, filename, cache_dir, revision, repo_type)`: the snapshot
 * path if the file is cached, `CACHED_NO_EXIST` if `.no_exist/` records its absence, else
 * null. Never resolves `cacheDir`, never throws for a missing file.
 */
export function tryToLoadFromCache(
  cacheDir: string,
  repoId: string,
  filename: string,
  { revision = DEFAULT_REVISION, repoType = "model" }: LookupOptions = {},
): string | null | typeof CACHED_NO_EXIST {
  validateRepoId(repoId);
  checkRepoType(repoType);
  const repoCache = pyJoin(cacheDir, repoFolderName(repoId, repoType));
  if (!isDir(repoCache)) return null;

  const refsDir = pyJoin(repoCache, "refs");
  const snapshotsDir = pyJoin(repoCache, "snapshots");
  const noExistDir = pyJoin(repoCache, ".no_exist");

  let resolved = revision;
  if (isDir(refsDir)) {
    const revisionFile = pyJoin(refsDir, revision);
    if (isFile(revisionFile)) resolved = readTextLikePython(revisionFile);
  }
  if (isFile(pyJoin(noExistDir, resolved, filename))) return CACHED_NO_EXIST;
  if (!exists(snapshotsDir)) return null;
  // os.listdir: raises if `snapshots` is a file, as in Python.
  if (!readdirSync(snapshotsDir).includes(resolved)) return null;
  const cachedFile = pyJoin(snapshotsDir, resolved, filename);
  return isFile(cachedFile) ? cachedFile : null;
}

export interface DownloadOptions extends LookupOptions {
  /** Prefixed to `filename` with a "/", as hf_hub_download's `subfolder`. */
  readonly subfolder?: string;
}

/**
 * `hf_hub_download(...)` with `HF_HUB_OFFLINE=1` (or `local_files_only=True`): the pointer
 * path under `snapshots/` if it exists (following its symlink), else LocalEntryNotFoundError.
 * Branch and tag names go through `refs/<revision>`, read without stripping; `.no_exist/`
 * is not consulted.
 */
export function hfHubDownloadOffline(
  cacheDir: string,
  repoId: string,
  filename: string,
  { revision = DEFAULT_REVISION, repoType = "model", subfolder }: DownloadOptions = {},
): string {
  validateRepoId(repoId);
  const resolvedCacheDir = pathResolveLikePython(expandUser(cacheDir));
  const fullFilename = subfolder ? `${subfolder}/${filename}` : filename;
  checkRepoType(repoType);

  const storageFolder = pyJoin(resolvedCacheDir, repoFolderName(repoId, repoType));
  validateRelativeFilename(fullFilename);
  const relativeFilename = pyJoin(...fullFilename.split("/"));

  if (REGEX_COMMIT_HASH.test(revision)) {
    const pointerPath = getPointerPath(storageFolder, revision, relativeFilename);
    if (exists(pointerPath)) return pointerPath;
  }
  // Offline: the HEAD call fails, so look for the last downloaded copy.
  let commitHash: string | undefined;
  if (REGEX_COMMIT_HASH.test(revision)) {
    commitHash = revision;
  } else {
    const refPath = pyJoin(storageFolder, "refs", revision);
    if (isFile(refPath)) commitHash = readTextLikePython(refPath);
  }
  if (commitHash !== undefined) {
    const pointerPath = getPointerPath(storageFolder, commitHash, relativeFilename);
    if (exists(pointerPath)) return pointerPath;
  }
  throw new LocalEntryNotFoundError(
    `Cannot find ${fullFilename} of ${repoId} (revision ${revision}${commitHash === undefined ? "" : `, commit ${JSON.stringify(commitHash)}`}) ` +
      "in the disk cache and outgoing traffic has been disabled.",
  );
}

export interface SnapshotOptions extends LookupOptions {
  /**
   * `local_files_only=True` instead of the default, HF_HUB_OFFLINE=1 alone. They differ for
   * a 40-hex revision: local_files_only returns `snapshots/<commit>` if it exists, while
   * HF_HUB_OFFLINE=1 takes the online path, which needs trees/<commit>.json (else it raises
   * OfflineModeIsEnabled) and then fetches each listed file with hf_hub_download.
   */
  readonly localFilesOnly?: boolean;
}

/**
 * `snapshot_download(...)` offline: `snapshots/<commit>` (the commit taken from the
 * revision if it is 40-hex, else from `refs/<revision>`) if that path exists, after the
 * trees/<commit>.json completeness check; else LocalEntryNotFoundError. See
 * `localFilesOnly` for the one case where the two ways of being offline differ.
 */
export function snapshotDownloadOffline(
  cacheDir: string,
  repoId: string,
  { revision = DEFAULT_REVISION, repoType = "model", localFilesOnly = false }: SnapshotOptions = {},
): string {
  validateRepoId(repoId);
  const resolvedCacheDir = pathResolveLikePython(expandUser(cacheDir));
  checkRepoType(repoType);
  const storageFolder = pyJoin(resolvedCacheDir, repoFolderName(repoId, repoType));

  let commitHash: string | undefined = REGEX_COMMIT_HASH.test(revision) ? revision : undefined;
  if (commitHash !== undefined && !localFilesOnly) {
    // The commit is known, so the library skips its cache-only branch and "downloads".
    const listed = readTreeCache(storageFolder, commitHash);
    if (listed === undefined) {
      throw new OfflineModeIsEnabled(
        `Cannot reach the Hub to list ${repoId} at ${commitHash}: offline mode is enabled ` +
          `(no trees/${commitHash}.json to list it from).`,
      );
    }
    for (const path of listed) hfHubDownloadOffline(resolvedCacheDir, repoId, path, { revision: commitHash, repoType });
    return pyJoin(storageFolder, "snapshots", commitHash);
  }
  if (commitHash === undefined) {
    const refPath = pyJoin(storageFolder, "refs", revision);
    // `os.path.exists` then `open`: a directory here raises, as in Python.
    if (exists(refPath)) commitHash = readTextLikePython(refPath);
  }
  if (commitHash !== undefined) {
    const snapshotFolder = pyJoin(storageFolder, "snapshots", commitHash);
    if (exists(snapshotFolder)) {
      raiseIfIncompleteSnapshot(storageFolder, commitHash, snapshotFolder, repoId, revision);
      return snapshotFolder;
    }
  }
  throw new LocalEntryNotFoundError(
    `Cannot find a cached snapshot folder of ${repoId} for revision ${revision}` +
      `${commitHash === undefined ? " (no ref)" : ` (commit ${JSON.stringify(commitHash)})`} and outgoing traffic has been disabled.`,
  );
}

/** `_raise_if_incomplete_snapshot` with no allow/ignore patterns: every listed file must exist. */
function raiseIfIncompleteSnapshot(
  storageFolder: string,
  commitHash: string,
  baseDir: string,
  repoId: string,
  revision: string,
): void {
  const listed = readTreeCache(storageFolder, commitHash);
  if (listed === undefined) return;
  const missing = listed.filter((path) => !isFile(pyJoin(baseDir, ...path.split("/"))));
  if (missing.length === 0) return;
  throw new IncompleteSnapshotError(
    `The cached snapshot for '${repoId}' (revision '${revision}', commit ${commitHash}) is incomplete: ` +
      `${missing.length} file(s) are missing (${missing.slice(0, 3).join(", ")}${missing.length > 3 ? `, ... (${missing.length - 3} more)` : ""}).`,
    missing,
  );
}

/** _tree_cache.py `read_tree_cache`: the listed paths, or undefined if absent, unknown or invalid. */
function readTreeCache(storageFolder: string, commitHash: string): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(pyJoin(storageFolder, "trees", `${commitHash}.json`), "utf8");
  } catch {
    return undefined;
  }
  try {
    const data = JSON.parse(text) as { format_version?: unknown; files?: unknown };
    if (data.format_version !== 1) return undefined;
    const files = data.files as Record<string, { size?: unknown; blob_id?: unknown; xet_hash?: unknown }>;
    const entries = Object.entries(files);
    // from_json needs size and blob_id (KeyError → ignored); an invalid Xet hash voids the listing.
    if (entries.some(([, info]) => !("size" in info) || !("blob_id" in info))) return undefined;
    if (entries.some(([, info]) => info.xet_hash != null && !/^[0-9a-fA-F]{64}$/.test(String(info.xet_hash))))
      return undefined;
    return entries.map(([path]) => path);
  } catch {
    return undefined;
  }
}

/** file_download.py `_get_pointer_path`: refuses a revision or name that leaves snapshots/. */
function getPointerPath(storageFolder: string, revision: string, relativeFilename: string): string {
  const snapshotPath = pyJoin(storageFolder, "snapshots");
  const pointerPath = pyJoin(snapshotPath, revision, relativeFilename);
  const parent = resolve(snapshotPath);
  const pointer = resolve(pointerPath);
  if (pointer === parent || !pointer.startsWith(parent === sep ? sep : parent + sep)) {
    throw new ValueError(
      `Invalid pointer path: cannot create pointer path in snapshot folder if \`storage_folder='${storageFolder}'\`, ` +
        `\`revision='${revision}'\` and \`relative_filename='${relativeFilename}'\`.`,
    );
  }
  return pointerPath;
}

/** _local_folder.py `_validate_relative_filename`: no `..` segment, nothing anchored (POSIX or Windows). */
function validateRelativeFilename(filename: string): void {
  if (filename.replaceAll("\\", "/").split("/").includes("..")) {
    throw new ValueError(`Invalid filename '${filename}': cannot contain a '..' path segment.`);
  }
  // PurePosixPath root, or a PureWindowsPath drive ("C:") / root ("\...") in any segment.
  if (
    filename.startsWith("/") ||
    filename.split("/").some((part) => part.startsWith("\\") || /^[A-Za-z]:/.test(part))
  ) {
    throw new ValueError(`Invalid filename '${filename}': cannot be an absolute, drive-relative or UNC path.`);
  }
}

// ---------------------------------------------------------------------------------------
// scan_cache_dir

export interface CachedFileInfo {
  readonly fileName: string;
  readonly filePath: string;
  readonly blobPath: string;
  readonly sizeOnDisk: number;
}
export interface CachedRevisionInfo {
  readonly commitHash: string;
  readonly snapshotPath: string;
  /** Ref names pointing here, sorted ("main", "refs/pr/1"). */
  readonly refs: readonly string[];
  /** Sorted by filePath. */
  readonly files: readonly CachedFileInfo[];
  readonly sizeOnDisk: number;
}
export interface CachedRepoInfo {
  readonly repoId: string;
  readonly repoType: string;
  readonly repoPath: string;
  /** Distinct blobs. */
  readonly nbFiles: number;
  readonly sizeOnDisk: number;
  /** Sorted by commitHash. */
  readonly revisions: readonly CachedRevisionInfo[];
}
export interface HFCacheInfo {
  /** Sorted by repoPath. */
  readonly repos: readonly CachedRepoInfo[];
  /** `str(CorruptedCacheException)` for each repo that failed the checks, sorted. */
  readonly warnings: readonly string[];
  /** `*\/blobs/*.incomplete`, sorted. */
  readonly incompleteFiles: readonly string[];
}

const FILES_TO_IGNORE = [".DS_Store", "Thumbs.db", "desktop.ini"];

/**
 * `scan_cache_dir(cache_dir)`: every repo folder, with per-repo problems turned into
 * warnings (the same messages as the library) rather than thrown. Throws CacheNotFound if
 * the directory is missing, ValueError if it is a file.
 */
export function scanCacheDir(cacheDir: string): HFCacheInfo {
  const root = pathResolveLikePython(expandUser(cacheDir));
  if (!exists(root)) throw new CacheNotFound(`Cache directory not found: ${root}.`);
  if (isFile(root)) throw new ValueError(`Scan cache expects a directory but found a file: ${root}.`);

  const repos: CachedRepoInfo[] = [];
  const warnings: string[] = [];
  for (const name of readdirSync(root).sort()) {
    if (FILES_TO_IGNORE.includes(name) || name === ".locks" || name === "CACHEDIR.TAG") continue;
    try {
      repos.push(scanCachedRepo(pyJoin(root, name)));
    } catch (error) {
      if (!(error instanceof CorruptedCacheException)) throw error;
      warnings.push(error.message);
    }
  }
  return { repos, warnings: warnings.sort(), incompleteFiles: scanIncompleteFiles(root) };
}

function scanCachedRepo(repoPath: string): CachedRepoInfo {
  if (!isDir(repoPath)) throw new CorruptedCacheException(`Repo path is not a directory: ${repoPath}`);
  const name = basename(repoPath);
  const separator = name.indexOf("--");
  if (separator < 0)
    throw new CorruptedCacheException(`Repo path is not a valid HuggingFace cache directory: ${repoPath}`);
  const repoType = name.slice(0, separator).slice(0, -1);
  const repoId = name.slice(separator + 2).replaceAll("--", "/");
  if (!SCANNABLE_REPO_TYPES.includes(repoType)) {
    throw new CorruptedCacheException(
      `Repo type must be \`dataset\`, \`model\` or \`space\`, found \`${repoType}\` (${repoPath}).`,
    );
  }

  const snapshotsPath = pyJoin(repoPath, "snapshots");
  const refsPath = pyJoin(repoPath, "refs");
  if (!exists(snapshotsPath) || !isDir(snapshotsPath)) {
    throw new CorruptedCacheException(`Snapshots dir doesn't exist in cached repo: ${snapshotsPath}`);
  }

  const refsByHash = new Map<string, Set<string>>();
  if (exists(refsPath)) {
    if (isFile(refsPath)) throw new CorruptedCacheException(`Refs directory cannot be a file: ${refsPath}`);
    for (const refPath of globAllDescendants(refsPath)) {
      if (isDir(refPath) || FILES_TO_IGNORE.includes(basename(refPath))) continue;
      const commitHash = readTextLikePython(refPath);
      const names = refsByHash.get(commitHash) ?? new Set<string>();
      names.add(relative(refsPath, refPath));
      refsByHash.set(commitHash, names);
    }
  }

  const blobSizes = new Map<string, number>();
  const revisions: CachedRevisionInfo[] = [];
  for (const revisionName of readdirSync(snapshotsPath).sort()) {
    if (FILES_TO_IGNORE.includes(revisionName)) continue;
    const revisionPath = pyJoin(snapshotsPath, revisionName);
    if (isFile(revisionPath))
      throw new CorruptedCacheException(`Snapshots folder corrupted. Found a file: ${revisionPath}`);
    const files: CachedFileInfo[] = [];
    // pathlib's glob yields nothing under a path that is not a directory.
    const entries = isDir(revisionPath) ? globAllDescendants(revisionPath) : [];
    for (const filePath of entries) {
      if (isDir(filePath)) continue;
      const blobPath = pathResolveLikePython(filePath);
      if (!exists(blobPath)) throw new CorruptedCacheException(`Blob missing (broken symlink): ${blobPath}`);
      const size = blobSizes.get(blobPath) ?? statSync(blobPath).size;
      blobSizes.set(blobPath, size);
      files.push({ fileName: basename(filePath), filePath, blobPath, sizeOnDisk: size });
    }
    if (files.length === 0) statSync(revisionPath); // Python stats it for its mtime; a dangling link raises.
    const distinctBlobs = new Set(files.map((file) => file.blobPath));
    revisions.push({
      commitHash: revisionName,
      snapshotPath: revisionPath,
      refs: [...(refsByHash.get(revisionName) ?? [])].sort(),
      files: files.sort((a, b) => compare(a.filePath, b.filePath)),
      sizeOnDisk: [...distinctBlobs].reduce((sum, blob) => sum + (blobSizes.get(blob) ?? 0), 0),
    });
    refsByHash.delete(revisionName);
  }
  if (refsByHash.size > 0) {
    throw new CorruptedCacheException(
      `Reference(s) refer to missing commit hashes: ${pythonDictOfSetsRepr(refsByHash)} (${repoPath}).`,
    );
  }
  return {
    repoId,
    repoType,
    repoPath,
    nbFiles: blobSizes.size,
    sizeOnDisk: [...blobSizes.values()].reduce((sum, size) => sum + size, 0),
    revisions,
  };
}

function scanIncompleteFiles(root: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(root)) {
    const blobs = pyJoin(root, name, "blobs");
    if (!isDir(blobs)) continue;
    for (const blob of readdirSync(blobs)) if (blob.endsWith(".incomplete")) found.push(pyJoin(blobs, blob));
  }
  return found.sort();
}

// ---------------------------------------------------------------------------------------
// The project's acceptance check

export type ExpectedFiles = ReadonlyMap<string, Buffer | string> | Readonly<Record<string, Buffer | string>>;

export type OfflineMode = "HF_HUB_OFFLINE" | "local_files_only";

export interface OfflineCheckOptions extends LookupOptions {
  /** Accept files in the snapshot beyond `expected` (default: the snapshot must hold exactly them). */
  readonly allowExtraFiles?: boolean;
  /**
   * How programs go offline; snapshot_download must work in each. Default both: they only
   * differ for a 40-hex revision (see SnapshotOptions.localFilesOnly).
   */
  readonly offlineModes?: readonly OfflineMode[];
  /**
   * The repo's blobs may themselves be symlinks to files outside it (a locked model's
   * blobs/<etag> link to the store paths that hold them, docs/lockfile.md): each pointer
   * must still lead through the repo's own blobs/<name>, and on to a regular file.
   * Default false: a pointer must resolve inside blobs/.
   */
  readonly linkedBlobs?: boolean;
}

export interface FoundFile {
  readonly path: string;
  /** snapshots/<commit>/<path>, as the readers return it. */
  readonly pointer: string;
  /** The blob the pointer resolves to. */
  readonly blob: string;
  readonly sha256: string;
}

export interface OfflineCheckReport {
  readonly commit: string;
  readonly snapshotPath: string;
  readonly files: readonly FoundFile[];
}

/**
 * The foundation's acceptance check for a Hugging Face layout: every expected file is found
 * through refs/<revision> → snapshots/<commit> → blobs/ by all three offline readers,
 * byte-identical (by sha256), with pointers that are relative symlinks resolving to a regular
 * file in the repo's own blobs/; the snapshot holds no other files and no empty directories;
 * the ref has no trailing newline; scan_cache_dir reports nothing. `expected` maps repo paths
 * to contents or lowercase sha256 hex. Collects every problem, then throws one AssertionError.
 */
export async function assertEveryFileFoundOffline(
  cacheDir: string,
  repoId: string,
  expected: ExpectedFiles,
  {
    revision = DEFAULT_REVISION,
    repoType = "model",
    allowExtraFiles = false,
    offlineModes = ["HF_HUB_OFFLINE", "local_files_only"],
    linkedBlobs = false,
  }: OfflineCheckOptions = {},
): Promise<OfflineCheckReport> {
  const problems: string[] = [];
  const expectedSha = new Map<string, string>();
  for (const [path, content] of expected instanceof Map ? expected : Object.entries(expected)) {
    if (typeof content === "string" && !/^[0-9a-f]{64}$/.test(content))
      throw new TypeError(`expected sha256 of ${path} is not 64 lowercase hex: ${content}`);
    expectedSha.set(path, typeof content === "string" ? content : createHash("sha256").update(content).digest("hex"));
  }

  const scan = scanCacheDir(cacheDir);
  for (const warning of scan.warnings) problems.push(`scan_cache_dir: ${warning}`);
  for (const file of scan.incompleteFiles) problems.push(`scan_cache_dir: incomplete download left behind: ${file}`);

  const repoFolder = pyJoin(pathResolveLikePython(cacheDir), repoFolderName(repoId, repoType));
  let commit = revision;
  if (!REGEX_COMMIT_HASH.test(revision)) {
    const refPath = pyJoin(repoFolder, "refs", revision);
    if (!isFile(refPath)) {
      problems.push(`refs/${revision} is missing: offline loads of revision '${revision}' cannot resolve a commit`);
    } else {
      commit = readFileSync(refPath, "latin1");
      if (/\s$/.test(commit))
        problems.push(
          `refs/${revision} ends with whitespace (${JSON.stringify(commit)}): huggingface_hub reads it unstripped`,
        );
      if (!/^[0-9a-f]{40}$/.test(commit.trim()))
        problems.push(`refs/${revision} does not hold a 40-hex commit: ${JSON.stringify(commit)}`);
      commit = commit.trim();
    }
  }
  const snapshotPath = pyJoin(repoFolder, "snapshots", commit);

  for (const mode of offlineModes) {
    const call = `snapshot_download(revision='${revision}'${mode === "local_files_only" ? ", local_files_only=True" : ""}) with ${mode}`;
    try {
      const found = snapshotDownloadOffline(cacheDir, repoId, {
        revision,
        repoType,
        localFilesOnly: mode === "local_files_only",
      });
      if (found !== snapshotPath) problems.push(`${call} returned ${found}, expected ${snapshotPath}`);
    } catch (error) {
      problems.push(`${call} failed: ${describeFailure(error)}`);
    }
  }

  if (isDir(snapshotPath)) {
    const { files, emptyDirs } = walkSnapshot(snapshotPath);
    for (const dir of emptyDirs) problems.push(`empty directory in the snapshot: ${dir}`);
    if (!allowExtraFiles)
      for (const path of files) if (!expectedSha.has(path)) problems.push(`unexpected file in the snapshot: ${path}`);
  } else {
    problems.push(`snapshot folder is missing: ${snapshotPath}`);
  }

  const report: FoundFile[] = [];
  const realBlobs = realpathOrUndefined(pyJoin(repoFolder, "blobs"));
  for (const [path, sha256] of [...expectedSha].sort(([a], [b]) => compare(a, b))) {
    const pointer = pyJoin(snapshotPath, ...path.split("/"));
    const viaTry = tryToLoadFromCache(cacheDir, repoId, path, { revision, repoType });
    const expectedTryPath = pyJoin(cacheDir, repoFolderName(repoId, repoType), "snapshots", commit, path);
    if (viaTry !== expectedTryPath) problems.push(`try_to_load_from_cache(${path}) returned ${String(viaTry)}`);
    for (const rev of new Set([revision, commit])) {
      try {
        const viaDownload = hfHubDownloadOffline(cacheDir, repoId, path, { revision: rev, repoType });
        if (viaDownload !== pointer)
          problems.push(`hf_hub_download(${path}, revision='${rev}') returned ${viaDownload}`);
      } catch (error) {
        problems.push(`hf_hub_download(${path}, revision='${rev}') failed: ${describeFailure(error)}`);
      }
    }

    const link = lstatOrUndefined(pointer);
    if (link === undefined) {
      problems.push(`${path}: no pointer at ${pointer}`);
      continue;
    }
    if (!link.isSymbolicLink()) {
      problems.push(`${path}: pointer is not a symlink`);
    } else {
      const target = readlinkSync(pointer);
      if (isAbsolute(target))
        problems.push(`${path}: symlink target is absolute (${target}); it must be relative so the cache can move`);
    }
    const blob = realpathOrUndefined(pointer);
    if (blob === undefined) {
      problems.push(`${path}: pointer does not resolve (dangling symlink)`);
      continue;
    }
    // With linked blobs, the pointer's own target (one link followed) is what must be in blobs/.
    const viaBlobs =
      linkedBlobs && link.isSymbolicLink()
        ? resolve(realpathOrUndefined(dirname(pointer)) ?? "", readlinkSync(pointer))
        : blob;
    if (realBlobs === undefined || dirname(viaBlobs) !== realBlobs) {
      problems.push(`${path}: pointer resolves to ${viaBlobs}, outside the repo's blobs/`);
    }
    if (!statSync(blob).isFile()) {
      problems.push(`${path}: blob ${blob} is not a regular file`);
      continue;
    }
    const actual = await sha256File(blob);
    if (actual !== sha256) problems.push(`${path}: content sha256 ${actual}, expected ${sha256}`);
    report.push({ path, pointer, blob, sha256: actual });
  }

  if (problems.length > 0) {
    throw new AssertionError({
      message: `${repoId} (revision '${revision}') is not fully readable offline from ${cacheDir}:\n  - ${problems.join("\n  - ")}`,
    });
  }
  return { commit, snapshotPath, files: report };
}

/** Files (any non-directory, by lstat) and empty directories under a snapshot, as repo paths. */
function walkSnapshot(root: string): { files: string[]; emptyDirs: string[] } {
  const files: string[] = [];
  const emptyDirs: string[] = [];
  const visit = (dir: string, prefix: string) => {
    const names = readdirSync(dir).sort();
    if (names.length === 0 && prefix !== "") emptyDirs.push(prefix.slice(0, -1));
    for (const name of names) {
      const full = pyJoin(dir, name);
      if (lstatSync(full).isDirectory()) visit(full, `${prefix}${name}/`);
      else files.push(`${prefix}${name}`);
    }
  };
  visit(root, "");
  return { files, emptyDirs };
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

// ---------------------------------------------------------------------------------------
// Python semantics the readers depend on

/** os.path.join: an absolute component restarts the path; empty components add a separator only. */
function pyJoin(...parts: string[]): string {
  let out = "";
  for (const part of parts) {
    if (part.startsWith("/")) out = part;
    else if (out === "" || out.endsWith("/")) out += part;
    else out += `/${part}`;
  }
  return out;
}

function expandUser(path: string): string {
  return path === "~" || path.startsWith("~/") ? homedir() + path.slice(1) : path;
}

/**
 * pathlib `Path.resolve()` (non-strict) on Python 3.11: `posixpath.realpath` ported, so a
 * dangling symlink resolves to where it points (scan_cache_dir reports that path), missing
 * components are kept as they are, and `..` applies to the path resolved so far. A symlink
 * loop throws, as pathlib raises RuntimeError.
 */
function pathResolveLikePython(path: string): string {
  const seen = new Map<string, string | undefined>();
  const joinRealPath = (start: string, rest: string): [string, boolean] => {
    let current = start;
    let remaining = rest;
    if (remaining.startsWith("/")) {
      remaining = remaining.slice(1);
      current = "/";
    }
    while (remaining !== "") {
      const slash = remaining.indexOf("/");
      const name = slash < 0 ? remaining : remaining.slice(0, slash);
      remaining = slash < 0 ? "" : remaining.slice(slash + 1);
      if (name === "" || name === ".") continue;
      if (name === "..") {
        // `current` is always absolute here (we start from resolve(path)), so ".." is its dirname.
        current = dirname(current);
        continue;
      }
      const next = pyJoin(current, name);
      if (!lstatOrUndefined(next)?.isSymbolicLink()) {
        current = next;
        continue;
      }
      if (seen.has(next)) {
        const known = seen.get(next);
        if (known !== undefined) {
          current = known;
          continue;
        }
        throw new Error(`Symlink loop from '${next}'`);
      }
      seen.set(next, undefined);
      const [resolved, ok] = joinRealPath(current, readlinkSync(next));
      if (!ok) return [pyJoin(resolved, remaining), false];
      seen.set(next, resolved);
      current = resolved;
    }
    return [current, true];
  };
  return resolve(joinRealPath("", resolve(path))[0]);
}

/**
 * `open(path).read()` in text mode: UTF-8 (the locale on any sane system) with universal
 * newlines, so "\r\n" reads as "\n" — and, crucially, nothing is stripped.
 */
function readTextLikePython(path: string): string {
  const text = new TextDecoder("utf-8", { fatal: true }).decode(readFileSync(path));
  return text.replace(/\r\n?/g, "\n");
}

/** pathlib `glob("**\/*")` on Python 3.11: every descendant; symlinked directories are listed but not entered. */
function globAllDescendants(root: string): string[] {
  const out: string[] = [];
  const visit = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = pyJoin(dir, name);
      out.push(full);
      const link = lstatSync(full);
      if (link.isDirectory()) visit(full);
    }
  };
  visit(root);
  return out;
}

const statOrUndefined = (path: string): Stats | undefined => {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
};
const lstatOrUndefined = (path: string): Stats | undefined => {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
};
const realpathOrUndefined = (path: string): string | undefined => {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
};
/** os.path.exists / isfile / isdir: follow symlinks, and any OSError means false. */
const exists = (path: string) => statOrUndefined(path) !== undefined;
const isFile = (path: string) => statOrUndefined(path)?.isFile() ?? false;
const isDir = (path: string) => statOrUndefined(path)?.isDirectory() ?? false;

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const describeFailure = (error: unknown) =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/** repr() of a str, for messages that embed one (the library formats dicts of sets with repr). */
export function pythonStrRepr(value: string): string {
  const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
  let out = quote;
  for (const char of value) {
    const code = char.codePointAt(0) as number;
    if (char === "\\") out += "\\\\";
    else if (char === quote) out += `\\${quote}`;
    else if (char === "\n") out += "\\n";
    else if (char === "\r") out += "\\r";
    else if (char === "\t") out += "\\t";
    else if (code < 0x20 || (code >= 0x7f && code < 0xa0)) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += char;
  }
  return out + quote;
}

/** repr() of `dict(refs_by_hash)`; sets of more than one name are unordered in Python too. */
function pythonDictOfSetsRepr(map: ReadonlyMap<string, ReadonlySet<string>>): string {
  const items = [...map].map(
    ([key, names]) => `${pythonStrRepr(key)}: {${[...names].sort().map(pythonStrRepr).join(", ")}}`,
  );
  return `{${items.join(", ")}}`;
}
