/** The served repositories, as the routes see them (built by repo-loader.ts). */

export type RepoType = "model" | "dataset" | "space";

export const REPO_TYPES: readonly RepoType[] = ["model", "dataset", "space"];

/** What the Hub reports about an LFS file: the content's sha256 and size, and its pointer's size. */
export interface LfsInfo {
  readonly sha256: string;
  readonly size: number;
  readonly pointerSize: number;
}

export interface RepoFile {
  /** Path in the repo, "/"-separated, validated (no "", ".", ".." segments). */
  readonly path: string;
  /** Size of the content (for LFS files: of the real file, not the pointer). */
  readonly size: number;
  /** Git blob id: of the content for regular files, of the LFS pointer for LFS files. */
  readonly oid: string;
  readonly lfs?: LfsInfo;
  /** What the Hub reports as the content's etag: the LFS sha256, else the git blob id. */
  readonly etag: string;
  /** Absolute real path of the bytes, checked at load time to be inside the repo's folders. */
  readonly contentPath: string;
}

export interface DirectoryListing {
  /** Git tree id of this directory. */
  readonly oid: string;
  /** Full paths of the direct sub-directories, in git byte order. */
  readonly directories: readonly string[];
  /** Full paths of the direct files, in git byte order. */
  readonly files: readonly string[];
}

export interface Snapshot {
  readonly commit: string;
  readonly files: ReadonlyMap<string, RepoFile>;
  /** Every directory by path; "" is the root. */
  readonly directories: ReadonlyMap<string, DirectoryListing>;
  /** ISO date derived from the snapshot folder's mtime (1970-01-01T00:00:01Z in the Nix store). */
  readonly lastModified: string;
}

export type GatedMode = false | "auto" | "manual";

export interface HubRepo {
  readonly type: RepoType;
  /** "org/name" or a single-segment legacy id ("gpt2"). */
  readonly id: string;
  /** The folder it was loaded from (an HF cache repo folder or a fetched output). */
  readonly folder: string;
  readonly origin: "hf-cache" | "fetched-output";
  /** Ref name ("main", "refs/pr/1") → 40-hex commit; only refs whose snapshot exists. */
  readonly refs: ReadonlyMap<string, string>;
  readonly snapshots: ReadonlyMap<string, Snapshot>;
  /** From a `.gated` marker file in the repo folder ("manual" if it says so, else "auto"). */
  readonly gated: GatedMode;
  /** From a `.private` marker file: then it is invisible without an accepted token. */
  readonly private: boolean;
  /** From a `.xet` marker file (or the `xet.repos` option): its LFS files are also served through Xet. */
  readonly xet: boolean;
}

export function repoKey(type: RepoType, id: string): string {
  return `${type}s/${id}`;
}

/** The cache folder name huggingface_hub uses: models--org--name. */
export function repoFolderName(type: RepoType, id: string): string {
  return `${type}s--${id.split("/").join("--")}`;
}

/**
 * A repo as users name it on the command line and in URLs: "org/name" (a model),
 * "datasets/org/name", "spaces/org/name".
 */
export function parseRepoSpec(spec: string): { type: RepoType; id: string } {
  const trimmed = spec.replace(/^\/+|\/+$/g, "");
  for (const type of ["dataset", "space"] as const) {
    if (trimmed.startsWith(`${type}s/`)) return { type, id: trimmed.slice(type.length + 2) };
  }
  return { type: "model", id: trimmed };
}
