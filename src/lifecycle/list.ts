import { lockedStorePaths } from "../lockfile/index.js";
import type { GcRoot, StorePathInfo } from "../nix/store-query.js";
import { validStorePaths } from "../nix/store.js";
import { storePathInfos } from "../nix/store-query.js";
import type { Catalog } from "./catalog.js";
import { uniqueRoots } from "./inventory.js";
import { resolvedRevision, sourceDisplay } from "./recorded-source.js";

/**
 * `nix-model-repo list`: one row per model the store keeps, and one per lock entry that
 * is not built (or that nothing keeps), with its size on disk. Sizes are NAR sizes of
 * store paths as Nix records them; a store path several models share (a weight file
 * locked in two models, the same small files) counts once in the total, and each row
 * says how much of its size it shares.
 */
export interface ListedModel {
  readonly name: string;
  /** The target as the lock has it, else as read back from the meta file. */
  readonly source: string;
  /** Commit, MLflow version or Ollama manifest digest; null when the lock entry has none. */
  readonly revision: string | null;
  /** built: the store keeps it; in-store: its files are in the store but no built model is kept; missing: not in the store. */
  readonly state: "built" | "in-store" | "partly-in-store" | "missing";
  /** The model's store path; null unless built. */
  readonly storePath: string | null;
  /** The lock entry it is, when it is one. */
  readonly lockEntry: string | null;
  /** Built from a lockfile: its large files are store paths of their own. */
  readonly locked: boolean;
  /** Bytes of its store paths (NAR sizes). */
  readonly bytes: number;
  /** Of those, bytes in store paths another listed model has too. */
  readonly sharedBytes: number;
  /** The GC roots that keep it; empty: the next garbage collection deletes it. */
  readonly roots: readonly GcRoot[];
  /** The store paths it is made of. */
  readonly paths: readonly string[];
}

export interface ModelList {
  readonly models: readonly ListedModel[];
  /** Bytes of every listed store path, each counted once. */
  readonly totalBytes: number;
  /** Bytes in store paths more than one model has (counted once in totalBytes). */
  readonly sharedBytes: number;
  readonly unreadable: readonly { readonly path: string; readonly why: string }[];
}

export async function listModels(catalog: Catalog): Promise<ModelList> {
  const rows: Omit<ListedModel, "bytes" | "sharedBytes">[] = [];
  const listedAsEntry = new Set<string>();
  for (const locked of catalog.entries) {
    for (const model of locked.built) {
      listedAsEntry.add(model.path);
      rows.push({
        name: locked.name,
        source: locked.entry.source.target,
        revision: resolvedRevision(locked.entry.resolved),
        state: "built",
        storePath: model.path,
        lockEntry: locked.name,
        locked: model.locked,
        roots: model.roots,
        paths: model.parts,
      });
    }
  }
  for (const model of catalog.inventory.models) {
    if (listedAsEntry.has(model.path)) continue;
    rows.push({
      name: model.name,
      source: sourceDisplay(model.meta.source),
      revision: resolvedRevision(model.meta.resolved),
      state: "built",
      storePath: model.path,
      lockEntry: null,
      locked: model.locked,
      roots: model.roots,
      paths: model.parts,
    });
  }

  // Lock entries without a kept model: are their fixed-output paths in the store?
  const unbuilt = catalog.entries.filter((locked) => locked.built.length === 0);
  const wanted = unbuilt.map((locked) => {
    const paths = lockedStorePaths(locked.name, locked.entry);
    return { locked, paths: [...paths.blobs.values(), ...(paths.smallFiles === null ? [] : [paths.smallFiles])] };
  });
  const valid = await validStorePaths(wanted.flatMap((item) => item.paths));
  const infos = new Map<string, StorePathInfo>(catalog.inventory.infos);
  const unrooted = [...valid].filter((path) => !infos.has(path));
  for (const [path, info] of await storePathInfos(unrooted)) infos.set(path, info);
  for (const { locked, paths } of wanted) {
    const present = paths.filter((path) => valid.has(path));
    rows.push({
      name: locked.name,
      source: locked.entry.source.target,
      revision: resolvedRevision(locked.entry.resolved),
      state: present.length === 0 ? "missing" : present.length === paths.length ? "in-store" : "partly-in-store",
      storePath: null,
      lockEntry: locked.name,
      locked: true,
      roots: uniqueRoots(present.flatMap((path) => catalog.inventory.rootsKeeping(path))),
      paths: present,
    });
  }

  const holders = new Map<string, number>();
  for (const row of rows) for (const path of row.paths) holders.set(path, (holders.get(path) ?? 0) + 1);
  const size = (path: string) => infos.get(path)?.narSize ?? 0;
  const models = rows
    .map((row) => ({
      ...row,
      bytes: sum(row.paths.map(size)),
      sharedBytes: sum(row.paths.filter((path) => (holders.get(path) ?? 0) > 1).map(size)),
    }))
    .sort((a, b) => a.name.localeCompare(b.name) || (a.storePath ?? "").localeCompare(b.storePath ?? ""));
  return {
    models,
    totalBytes: sum([...holders.keys()].map(size)),
    sharedBytes: sum([...holders].filter(([, count]) => count > 1).map(([path]) => size(path))),
    unreadable: catalog.inventory.unreadable,
  };
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
