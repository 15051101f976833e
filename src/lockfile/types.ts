/**
 * The model lockfile, `models.lock.json` (docs/lockfile.md): what `nix-model-repo add` and
 * `update` write and `lib.fromLock` reads with builtins.fromJSON. One entry per model name:
 * the source as the user wrote it, what it resolved to, and every file with its size,
 * sha256, the source's own ids and whether it is large. Large files become one
 * fixed-output path each, the small ones one path together (docs/lockfile.md says why and
 * where the line is).
 */
export const LOCK_VERSION = 1;

/** Where the CLI looks for the lockfile unless told otherwise (--lock FILE). */
export const DEFAULT_LOCK_PATH = "models.lock.json";

/**
 * Files at least this large get a fixed-output path of their own; smaller ones share the
 * small files' path. docs/lockfile.md, "Large and small", has the measurement behind it.
 * Only `add` and `update` use it: the lock records each file's choice.
 */
export const DEFAULT_LARGE_FILE_BYTES = 64 * 1024 * 1024;

export interface LockFile {
  readonly lockVersion: typeof LOCK_VERSION;
  /** By model name: the attribute name `fromLock` gives the model. */
  readonly models: Readonly<Record<string, LockEntry>>;
}

/**
 * The source as the user wrote it on the command line (`add NAME TARGET --files ...`),
 * read again by `update` and by the Nix library's parseModelSpec. Flags appear only when
 * they were given.
 */
export interface LockSource {
  /** "hf:acme/tiny@main", "ollama:llama3.2:1b", "s3://bucket/prefix", ... (`prefetch`'s grammar). */
  readonly target: string;
  readonly files?: readonly string[];
  readonly endpoint?: string;
  readonly repoType?: "model" | "dataset" | "space";
  readonly region?: string;
}

export interface LockEntry {
  readonly source: LockSource;
  readonly layout: LockLayout;
  /**
   * What moving pointers resolved to, as the output's meta file records it: `commit` (every
   * Hugging Face layout), `version` (MLflow), `manifestDigest` (Ollama). The per-file
   * fetches are pinned to it, so a branch that moves upstream does not change them.
   */
  readonly resolved: Readonly<Record<string, string>>;
  /** The source as the output's meta file records it (no secrets, no endpoint). */
  readonly recorded: Readonly<Record<string, unknown>>;
  /** Sorted by path (bytewise), each path once. */
  readonly files: readonly LockedFile[];
  /** The one fixed-output path holding every small file; null when every file is large. */
  readonly smallFiles: LockedSmallFiles | null;
}

/**
 * The output layout (docs/architecture.md, "Layouts"). For the Hugging Face layout, the
 * refs to write (each holding resolved.commit); the Ollama layout's manifest is one of
 * the files (manifests/<host>/<namespace>/<model>/<tag>).
 */
export type LockLayout =
  | { readonly kind: "huggingface"; readonly refs: readonly string[] }
  | { readonly kind: "ollama" };

export interface LockedFile {
  /** Hugging Face layout: the path in the snapshot. Ollama layout: the path in the output. */
  readonly path: string;
  readonly size: number;
  /** Lowercase hex. Large files are fetched into a path named after it (src/nix/names.ts). */
  readonly sha256: string;
  /** Its own fixed-output path (true), or part of the small files' path (false). */
  readonly large: boolean;
  /** Hugging Face layout only: the blob's name under blobs/ (the Hub's etag, an LFS oid or the sha256). */
  readonly blob?: string;
  readonly ids: SourceIds;
}

/**
 * The source's own ids of a file, as far as it gives them: what `update` and `verify`
 * compare with a new listing to tell an unchanged file without downloading it.
 */
export interface SourceIds {
  /** Git blob id (of the pointer file, for LFS files): the Hub, git-lfs. */
  readonly gitOid?: string;
  /** Git LFS oid, the content sha256: the Hub, git-lfs. */
  readonly lfsOid?: string;
  /** The HTTP/S3 ETag as the server sent it. */
  readonly etag?: string;
  /** The registry's content digest, "sha256:<hex>": Ollama. */
  readonly digest?: string;
}

export interface LockedSmallFiles {
  /** SRI sha256 of the NAR serialisation of the directory <sha256>… holding each small file once. */
  readonly narHash: string;
}

export const SOURCE_ID_KEYS = ["gitOid", "lfsOid", "etag", "digest"] as const satisfies readonly (keyof SourceIds)[];
