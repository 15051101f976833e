/**
 * `.nix-model-repo-meta.json`: what an output holds and where it came from, with nothing
 * time-, machine- or tool-version-dependent in it, so it is part of the fixed-output hash
 * without breaking it. src/layout writes it; `prefetch` and the validation phase read it.
 */
export const META_FILE = ".nix-model-repo-meta.json";
/** Version of this file's format (not of the tool). */
export const META_FORMAT_VERSION = 1;

export interface MetaFile {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

export interface ModelMeta {
  readonly formatVersion: typeof META_FORMAT_VERSION;
  readonly layout: "huggingface" | "ollama";
  readonly source: Readonly<Record<string, unknown>>;
  readonly resolved: Readonly<Record<string, string>>;
  readonly files: readonly MetaFile[];
}

/**
 * For sources whose downloads are archives to unpack, `resolved` records each archive's
 * sha256 under this key: the archives are not in the output, and `prefetch` reads their
 * digests from here to pin them.
 */
export function archiveResolvedKey(path: string): string {
  return `archive:${path}`;
}
