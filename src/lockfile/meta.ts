import { META_FORMAT_VERSION, type ModelMeta } from "../model/meta.js";
import { compareBytes } from "../util/canonical-json.js";
import type { LockEntry } from "./types.js";

/**
 * The .nix-model-repo-meta.json a model built from this entry holds (before validation
 * adds its report): the same as a single-hash fetchModel of the same source writes, which
 * is how `fromLock` outputs and fetchModel outputs read alike.
 */
export function entryMeta(entry: LockEntry): ModelMeta {
  return {
    formatVersion: META_FORMAT_VERSION,
    layout: entry.layout.kind,
    source: entry.recorded,
    resolved: entry.resolved,
    files: [...entry.files]
      .sort((a, b) => compareBytes(a.path, b.path))
      .map(({ path, size, sha256 }) => ({ path, size, sha256 })),
  };
}
