import { realpath } from "node:fs/promises";
import { UserError } from "../errors/user-error.js";
import { entryMeta, type LockEntry, type LockFile, readLockFile } from "../lockfile/index.js";
import { defaultStoreDir } from "../nix/store-path.js";
import { requisites, storePathInfos, storePathOf } from "../nix/store-query.js";
import { canonicalJson } from "../util/canonical-json.js";
import { printable } from "../util/printable.js";
import { type Inventory, modelsOf, rootGraph, type StoreModel, takeInventory } from "./inventory.js";
import { readStoredMeta, type StoredMeta } from "./meta.js";

/**
 * The models a command can be asked about: those the store keeps (inventory.ts) and the
 * entries of the lockfile, matched to each other — a lock entry is built when a store
 * model has exactly the meta file the entry describes (lockfile entryMeta), whichever of
 * `fromLock` or a single-hash `fetchModel` built it.
 */
export interface Catalog {
  readonly inventory: Inventory;
  /** null when there is no lockfile (and none was asked for). */
  readonly lock: LockFile | null;
  readonly lockPath: string;
  readonly entries: readonly LockedModel[];
}

export interface LockedModel {
  readonly name: string;
  readonly entry: LockEntry;
  /** Store models built from it (usually one; none when it is not built or nothing roots it). */
  readonly built: readonly StoreModel[];
}

export interface LockOption {
  readonly path: string;
  /** --lock was given: a missing file is an error, not an empty lock. */
  readonly explicit: boolean;
}

export async function openCatalog(lockOption: LockOption): Promise<Catalog> {
  const [inventory, lock] = await Promise.all([takeInventory(), readLock(lockOption)]);
  return { inventory, lock, lockPath: lockOption.path, entries: matchEntries(inventory, lock) };
}

export async function readLock(option: LockOption): Promise<LockFile | null> {
  const lock = await readLockFile(option.path, { missingOk: !option.explicit });
  return option.explicit || Object.keys(lock.models).length > 0 ? lock : null;
}

function entryIdentity(entry: LockEntry): string {
  return canonicalJson(entryMeta(entry));
}

function matchEntries(inventory: Inventory, lock: LockFile | null): LockedModel[] {
  if (lock === null) return [];
  const byIdentity = new Map<string, StoreModel[]>();
  for (const model of inventory.models) {
    byIdentity.set(model.meta.identity, [...(byIdentity.get(model.meta.identity) ?? []), model]);
  }
  return Object.entries(lock.models).map(([name, entry]) => ({
    name,
    entry,
    built: byIdentity.get(entryIdentity(entry)) ?? [],
  }));
}

/** What a NAME|PATH argument names. */
export type Target =
  | { readonly kind: "lock"; readonly locked: LockedModel }
  | { readonly kind: "store"; readonly model: StoreModel };

/**
 * A PATH (it has a "/", or starts with "."): the store model it is in, rooted or not. A
 * NAME: the lock entry of that name, else the one store model of that name.
 */
export async function resolveTarget(argument: string, catalog: Catalog): Promise<Target> {
  if (looksLikePath(argument)) return { kind: "store", model: await modelAtPath(argument, catalog.inventory) };
  const locked = catalog.entries.find((entry) => entry.name === argument);
  if (locked !== undefined) return { kind: "lock", locked };
  const lookedIn =
    catalog.lock === null ? "there is no lockfile here" : `${catalog.lockPath} has no entry of that name`;
  return { kind: "store", model: modelNamed(argument, catalog.inventory, lookedIn) };
}

/** The one store model the GC roots keep under `name`; `lookedIn` says where else it was looked for. */
export function modelNamed(name: string, inventory: Inventory, lookedIn: string): StoreModel {
  const named = inventory.models.filter((model) => model.name === name);
  if (named.length === 1) return named[0]!;
  if (named.length > 1) {
    throw new UserError(
      {
        what: `${named.length} models on this machine are named ${printable(name)}`,
        context: Object.fromEntries(named.map((model, index) => [`path ${index + 1}`, model.path])),
        fix: ["Name one by its store path instead of its name."],
      },
      { exitCode: 2 },
    );
  }
  throw new UserError(
    {
      what: `No model named ${printable(name)}`,
      cause: `${lookedIn}, and no model of that name is kept by a GC root`,
      fix: [
        "`nix-model-repo list` shows the names; a model nothing roots is named by its store path (./result, or the path itself).",
      ],
    },
    { exitCode: 2 },
  );
}

export function looksLikePath(argument: string): boolean {
  return argument.includes("/") || argument.startsWith(".");
}

/**
 * The model a path is in: a store path (or a link to one, or a path inside one) whose
 * store path holds a meta file, or is the raw output of a validated one the store keeps.
 */
export async function modelAtPath(argument: string, inventory: Inventory): Promise<StoreModel> {
  let real: string;
  try {
    real = await realpath(argument);
  } catch (error) {
    throw new UserError(
      { what: `Cannot read ${printable(argument)}`, cause: (error as NodeJS.ErrnoException).code ?? String(error) },
      { exitCode: 2 },
    );
  }
  const storeDir = defaultStoreDir();
  const storePath = storePathOf(real, storeDir);
  if (storePath === undefined) {
    throw new UserError(
      {
        what: `${printable(argument)} is not in the Nix store (${storeDir})`,
        fix: ["Give a model's store path, or a link to one such as ./result."],
      },
      { exitCode: 2 },
    );
  }
  const kept = inventory.models.find((model) => model.path === storePath || model.raw === storePath);
  if (kept !== undefined) return kept;
  // Not kept by a root: read the path's own closure.
  const closure = await requisites([storePath]);
  const infos = await storePathInfos(closure);
  const metas = new Map<string, StoredMeta>();
  for (const path of closure) {
    const reading = await readStoredMeta(path);
    if (reading.kind === "meta") metas.set(path, reading.meta);
    else if (reading.kind === "unreadable" && path === storePath)
      throw new UserError({ what: `${storePath} has a meta file nix-model-repo cannot use`, cause: reading.why });
  }
  const model = modelsOf(metas, infos, rootGraph(infos, [])).find(
    (found) => found.path === storePath || found.raw === storePath,
  );
  if (model === undefined) {
    throw new UserError(
      {
        what: `${storePath} is not a model`,
        cause: "it has no .nix-model-repo-meta.json",
        fix: ["Give the store path of a model built by fetchModel or fromLock (its result link)."],
      },
      { exitCode: 2 },
    );
  }
  return model;
}
