import type { ExpectedDigests, FileSource } from "../transfer/types.js";

/**
 * The contract between the source adapters (src/sources), which resolve a request into
 * files, and the parts that act on it: the engine (src/transfer) moves each file's bytes,
 * src/layout writes the output, src/fetch runs them in order. Both sides import this
 * module; neither imports the other.
 */
export interface PlannedFile {
  /**
   * Checked relative path (src/sources/remote-path.ts): inside the snapshot for the Hugging
   * Face layout; the blob's own path ("blobs/sha256-<hex>") for the Ollama layout.
   */
  readonly path: string;
  readonly size: number | undefined;
  readonly expected: ExpectedDigests;
  /**
   * Blob file name in the Hugging Face layout: the Hub's etag for Hub files; null for
   * sources without one, where the content sha256 (known after download) is used.
   */
  readonly blobName: string | null;
  readonly source: FileSource;
  /**
   * The Hub's tree entry, for sources that are a Hub: written to trees/<commit>.json so
   * huggingface_hub's offline snapshot_download works with a pinned commit.
   */
  readonly hubTreeEntry?: HubTreeEntry;
  /**
   * The ETag the source gives the file (S3), recorded in a lockfile so `update` can tell
   * an unchanged file without downloading it. Hub and Ollama files are told by their
   * tree entry and digest instead.
   */
  readonly etag?: string;
}

/** One file of huggingface_hub's tree cache (its _tree_cache.py TreeCacheEntry). */
export interface HubTreeEntry {
  readonly size: number;
  /** Git blob id; for LFS files, of the pointer file. */
  readonly blobId: string;
  readonly lfs?: { readonly sha256: string; readonly size: number };
}

export interface ResolvedModel {
  /** 40-hex snapshot commit; null = derive it from the file manifest (S3, HTTP, MLflow). */
  readonly commit: string | null;
  /** Revision names to write under refs/ (the requested one when it is a name). */
  readonly refs: readonly string[];
  readonly files: readonly PlannedFile[];
  /** The source as recorded in the meta file: no secrets, nothing mirror-specific. */
  readonly metaSource: Readonly<Record<string, unknown>>;
  /** Facts resolved from moving pointers (commit for a branch, version for a stage). */
  readonly resolved: Readonly<Record<string, string>>;
  /**
   * Set by sources whose downloads are archives to unpack (source.url with unpack = true):
   * the planned files are then downloaded and checked into `unpack.scratchDir`, outside
   * the output, and the snapshot holds what `unpack.unpack` makes of them instead.
   */
  readonly unpack?: UnpackStep | undefined;
  /**
   * Called once when the fetch is over, whether it worked or not, to remove what the
   * adapter made outside the output (a git clone, an unpack's scratch directory).
   */
  readonly release?: () => Promise<void>;
  /** The output layout to write (docs/architecture.md, "Layouts"); absent means the Hugging Face layout. */
  readonly layout?: OutputLayout;
}

/**
 * Which layout the output gets. Every source but Ollama writes the Hugging Face layout,
 * where `commit` and `refs` apply; the Ollama layout ignores them.
 */
export type OutputLayout = { readonly kind: "huggingface" } | OllamaOutputLayout;

export interface OllamaOutputLayout {
  readonly kind: "ollama";
  /** Checked name parts: the manifest goes to manifests/<host>/<namespace>/<model>/<tag>. */
  readonly manifestPath: readonly [host: string, namespace: string, model: string, tag: string];
  /** The manifest exactly as the registry sent it: `ollama list` shows its sha256 as the model ID. */
  readonly manifest: Uint8Array;
}

/** A planned file after the engine downloaded and checked it (into an unpack's scratch directory). */
export interface DownloadedFile {
  /** PlannedFile.path. */
  readonly path: string;
  /** Absolute path of the checked bytes. */
  readonly location: string;
  readonly size: number;
  readonly sha256: string;
}

/**
 * Writes content made inside the fetcher (an archive entry) as a blob of the output:
 * hashed while written, named by its sha256. The content is consumed once, in order.
 */
export type BlobWriter = (
  content: AsyncIterable<Uint8Array>,
) => Promise<{ readonly sha256: string; readonly size: number }>;

/** A snapshot file an unpacker made; its blob (blobs/<sha256>) is already written. */
export interface UnpackedFile {
  /** Checked relative path (src/sources/remote-path.ts), unique among the files returned. */
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

export interface UnpackStep {
  /** Where the downloads go: a directory outside the output, made by the adapter and removed by its release(). */
  readonly scratchDir: string;
  /** Turns the checked downloads into the snapshot's files, writing each file's bytes with `writeBlob`. */
  unpack(downloads: readonly DownloadedFile[], writeBlob: BlobWriter): Promise<readonly UnpackedFile[]>;
}
