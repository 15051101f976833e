import type { ModelMeta } from "../model/meta.js";

/**
 * How `nix-model-repo prefetch TARGET` maps a target string (hf:org/name@rev, ...)
 * onto a source spec, and back to the Nix `source` attribute users paste. One entry
 * per source, registered in src/cli/commands/prefetch.ts.
 */
export interface PrefetchFlags {
  readonly files: readonly string[] | undefined;
  readonly endpoint: string | undefined;
  readonly repoType: string | undefined;
  /** --unpack (url: targets): unpack the archive into the snapshot. */
  readonly unpack?: boolean | undefined;
  /** --region (S3). */
  readonly region?: string | undefined;
}

export interface PrefetchTarget {
  /** The source object of the spec, in the JSON form the Nix library writes. */
  readonly source: Readonly<Record<string, unknown>>;
  /** A default derivation name when --name is not given. */
  readonly defaultName: string;
  /** The Nix attribute name under `source` ("huggingface") and its value for the snippet. */
  readonly nixAttribute: string;
  readonly nixValue: Readonly<Record<string, unknown>>;
}

export interface PrefetchScheme {
  /** Prefixes this source answers to, without the colon: ["hf", "huggingface"]. */
  readonly prefixes: readonly string[];
  /** Shown in `prefetch --help`. */
  readonly example: string;
  parse(rest: string, flags: PrefetchFlags): PrefetchTarget;
  /**
   * Fills in what only the fetch could tell (a URL's sha256), from the fetched model's meta.
   * The output must not depend on it: the meta file is the same with or without it.
   */
  complete?(target: PrefetchTarget, meta: ModelMeta): PrefetchTarget;
}

/** Turns anything into a valid Nix store name fragment. */
export function storeName(text: string): string {
  const cleaned = text
    .replace(/[^A-Za-z0-9+\-._?=]+/g, "-")
    .replace(/^[.-]+/, "")
    .replace(/-+$/, "");
  return cleaned === "" ? "model" : cleaned;
}
