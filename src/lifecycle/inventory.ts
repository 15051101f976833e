import pLimit from "p-limit";
import { isLockedPartName, nameOfRaw } from "../nix/names.js";
import {
  type GcRoot,
  gcRoots,
  requisites,
  type StorePathInfo,
  storePathInfos,
  storePathName,
} from "../nix/store-query.js";
import { defaultStoreDir } from "../nix/store-path.js";
import { logger } from "../util/log.js";
import { hasMetaFile, readStoredMeta, type StoredMeta } from "./meta.js";

/**
 * The models on this machine, as Nix sees them: the store paths that are reachable from a
 * garbage-collector root and hold our meta file. Never a walk of the whole store: the
 * roots (`nix-store --gc --print-roots`), their closure (`--query --requisites`) and that
 * closure's registrations (`--dump-db`) are three questions to Nix whatever the store's
 * size, then one lstat per path of the closure. A model nothing roots is garbage: the
 * next `nix-collect-garbage` deletes it, and `list` does not show it (lock entries say
 * whether their paths are in the store; `info PATH` reads any path).
 */
export interface StoreModel {
  /** The model's store path: the validated output, or the raw one when there is no validated output. */
  readonly path: string;
  /** Its name: the store name, without "-raw". */
  readonly name: string;
  /** The raw (phase 1) output, when `path` is a validated output that links into it. */
  readonly raw: string | null;
  readonly meta: StoredMeta;
  /**
   * The store paths holding the model's bytes: `path`, `raw`, and for a model built from
   * a lockfile each large file's path and the small files' path, which other models may
   * share.
   */
  readonly parts: readonly string[];
  /** Built from a lockfile: its files are store paths of their own. */
  readonly locked: boolean;
  /** The roots that keep it (directly, or through something that refers to it). */
  readonly roots: readonly GcRoot[];
}

export interface Inventory {
  readonly storeDir: string;
  readonly roots: readonly GcRoot[];
  readonly models: readonly StoreModel[];
  /** Paths whose meta file could not be used, with the reason (a hostile or foreign file). */
  readonly unreadable: readonly { readonly path: string; readonly why: string }[];
  /** The registration of every path the roots keep. */
  readonly infos: ReadonlyMap<string, StorePathInfo>;
  /** The roots that keep a path (none for a path they do not keep). */
  rootsKeeping(path: string): GcRoot[];
}

/** lstats at once: enough to hide the latency of a network file system, few enough for any fd limit. */
const META_READS = 32;

export async function takeInventory(storeDir = defaultStoreDir()): Promise<Inventory> {
  logger.info("reading the garbage collector's roots and what they keep…");
  const roots = await gcRoots(storeDir);
  const reachable = await requisites(roots.map((root) => root.path));
  const limit = pLimit(META_READS);
  // Most kept paths are not models: one lstat each tells, before anything is read.
  const candidates = reachable.filter(hasMetaFile);
  const [infos, readings] = await Promise.all([
    storePathInfos(reachable),
    Promise.all(candidates.map((path) => limit(async () => ({ path, reading: await readStoredMeta(path) })))),
  ]);
  const metas = new Map<string, StoredMeta>();
  const unreadable: { path: string; why: string }[] = [];
  for (const { path, reading } of readings) {
    if (reading.kind === "meta") metas.set(path, reading.meta);
    else if (reading.kind === "unreadable") unreadable.push({ path, why: reading.why });
  }
  const graph = rootGraph(infos, roots);
  const models = modelsOf(metas, infos, graph);
  return { storeDir, roots, models, unreadable, infos, rootsKeeping: (path) => graph.rootsReaching(path) };
}

/** Groups meta-bearing paths into models: a validated output with the raw output it links into. */
export function modelsOf(
  metas: ReadonlyMap<string, StoredMeta>,
  infos: ReadonlyMap<string, StorePathInfo>,
  graph: RootGraph,
): StoreModel[] {
  const rawOf = new Map<string, string>();
  for (const [path, meta] of metas) {
    if (meta.validation === null) continue;
    const raw = infos
      .get(path)
      ?.references.find(
        (reference) =>
          reference !== path &&
          metas.get(reference)?.validation === null &&
          metas.get(reference)?.identity === meta.identity,
      );
    if (raw !== undefined) rawOf.set(path, raw);
  }
  const claimed = new Set(rawOf.values());

  const models: StoreModel[] = [];
  for (const [path, meta] of metas) {
    if (claimed.has(path)) continue;
    const raw = rawOf.get(path) ?? null;
    const name = storePathName(path);
    const parts = partsOf(path, raw, infos);
    models.push({
      path,
      name: (raw === null ? nameOfRaw(name) : undefined) ?? name,
      raw,
      meta,
      parts,
      locked: parts.some((part) => part !== path && part !== raw),
      // The raw output holds the bytes: whatever keeps it keeps the model.
      roots: graph.rootsReaching(raw ?? path),
    });
  }
  return models.sort((a, b) => a.name.localeCompare(b.name) || a.path.localeCompare(b.path));
}

/**
 * The model's path, its raw path, and the locked files' paths they refer to: a validated
 * output refers to its raw output, a raw output built from a lock to its files, and
 * nothing else they refer to belongs to the model.
 */
function partsOf(path: string, raw: string | null, infos: ReadonlyMap<string, StorePathInfo>): string[] {
  const own = raw === null ? [path] : [path, raw];
  const parts = new Set(own);
  for (const part of own) {
    for (const reference of infos.get(part)?.references ?? []) {
      if (isLockedPartName(storePathName(reference))) parts.add(reference);
    }
  }
  return [...parts];
}

/** Which roots keep which paths: the roots, and the referrers of every path they keep. */
export interface RootGraph {
  rootsReaching(path: string): GcRoot[];
}

export function rootGraph(infos: ReadonlyMap<string, StorePathInfo>, roots: readonly GcRoot[]): RootGraph {
  const referrers = new Map<string, string[]>();
  for (const info of infos.values()) {
    for (const reference of info.references) {
      if (reference === info.path) continue;
      const list = referrers.get(reference);
      if (list === undefined) referrers.set(reference, [info.path]);
      else list.push(info.path);
    }
  }
  const rootsByPath = new Map<string, GcRoot[]>();
  for (const root of roots) rootsByPath.set(root.path, [...(rootsByPath.get(root.path) ?? []), root]);
  return {
    // A walk up the referrers, which are few for a model (a Hub folder, a profile, a shell).
    rootsReaching(path) {
      const found: GcRoot[] = [];
      const seen = new Set<string>();
      const stack = [path];
      while (stack.length > 0) {
        const current = stack.pop()!;
        if (seen.has(current)) continue;
        seen.add(current);
        // Loops, not push(...): a store path may have more referrers than one call takes arguments.
        for (const root of rootsByPath.get(current) ?? []) found.push(root);
        for (const referrer of referrers.get(current) ?? []) stack.push(referrer);
      }
      return found.sort((a, b) => a.link.localeCompare(b.link));
    },
  };
}

/** Roots without repeats (a path kept through two of its parts names each root once). */
export function uniqueRoots(roots: readonly GcRoot[]): GcRoot[] {
  return [...new Map(roots.map((root) => [`${root.link}\0${root.path}`, root])).values()];
}
