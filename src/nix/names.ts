import storeNames from "./store-names.json" with { type: "json" };

/**
 * The store names both halves must agree on, read from one file, src/nix/store-names.json,
 * which the Nix library reads too (lib/store-names.nix): a fixed-output derivation's store
 * path depends only on its name and its hash, so `prefetch` and `add` must add what they
 * download under exactly the name the build will ask for, or the build downloads again.
 */

/** The raw (phase 1) derivation of `fetchModel { name; ... }`: "<name>-raw". */
export function rawDerivationName(name: string): string {
  return `${name}${storeNames.rawSuffix}`;
}

/**
 * A large file of a locked model (docs/lockfile.md): "model-blob-<sha256 hex>". A function
 * of the content only, so the same weights in two models or two revisions are one store
 * path, fetched once.
 */
export function lockedBlobName(sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`internal error: ${JSON.stringify(sha256)} is not a sha256`);
  return `${storeNames.lockedBlobPrefix}${sha256}`;
}

/** The small files of a locked model named `name`, fetched together: "<name>-files". */
export function lockedSmallFilesName(name: string): string {
  return `${name}${storeNames.lockedSmallFilesSuffix}`;
}

/** The model name of a raw derivation's output name ("tiny-raw" → "tiny"); undefined for other names. */
export function nameOfRaw(storeName: string): string | undefined {
  return storeName.endsWith(storeNames.rawSuffix) ? storeName.slice(0, -storeNames.rawSuffix.length) : undefined;
}

/** Whether a store name is one of the paths a locked model is made of: a large file or the small files. */
export function isLockedPartName(storeName: string): boolean {
  const { lockedBlobPrefix, lockedSmallFilesSuffix } = storeNames;
  const blob =
    storeName.startsWith(lockedBlobPrefix) && /^[0-9a-f]{64}$/.test(storeName.slice(lockedBlobPrefix.length));
  return blob || storeName.endsWith(lockedSmallFilesSuffix);
}
