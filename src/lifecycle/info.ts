import { type LockEntry, lockedBlobPath, lockedStorePaths } from "../lockfile/index.js";
import { validStorePaths } from "../nix/store.js";
import { type GcRoot, type StorePathInfo, storePathInfos, storePathName } from "../nix/store-query.js";
import type { Catalog, Target } from "./catalog.js";
import { type StoreModel, uniqueRoots } from "./inventory.js";
import type { ValidationSummary } from "./meta.js";
import { resolvedRevision, sourceDisplay } from "./recorded-source.js";

/**
 * `nix-model-repo info NAME|PATH`: everything known about one model without asking the
 * source — where it came from and what that resolved to, its files, its hashes (the
 * `hash = ...` a single-hash fetchModel declares is the raw output's NAR hash), the
 * validation report, what keeps it from the garbage collector, and which other models
 * share its bytes.
 */
export interface ModelInfo {
  readonly name: string;
  readonly lockEntry: string | null;
  /** The target as the lock has it, else as read back from the meta file. */
  readonly source: string;
  /** The source as the meta file records it. */
  readonly recorded: Readonly<Record<string, unknown>>;
  readonly resolved: Readonly<Record<string, string>>;
  readonly revision: string | null;
  readonly layout: string;
  /** The model's store path; null for a lock entry that is not built. */
  readonly storePath: string | null;
  readonly rawPath: string | null;
  readonly files: readonly InfoFile[];
  /** Each store path the model is made of, with its NAR hash and size. */
  readonly paths: readonly InfoPath[];
  /** The NAR hash of the raw output: fetchModel's `hash`. */
  readonly hash: string | null;
  readonly validation: ValidationSummary | null;
  readonly roots: readonly GcRoot[];
  /** Bytes of the model's store paths that are in the store. */
  readonly bytes: number;
  readonly sharing: readonly Sharing[];
}

export interface InfoFile {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  /** Lock entries: whether the file has a store path of its own, and which. */
  readonly large?: boolean;
  readonly storePath?: string;
}

export interface InfoPath {
  readonly path: string;
  readonly role: "model" | "raw" | "large file" | "small files";
  /** false for a lock entry's path that is not in the store. */
  readonly inStore: boolean;
  readonly narHash: string | null;
  readonly narSize: number | null;
}

/** Another model with some of the same bytes. */
export interface Sharing {
  readonly name: string;
  readonly storePath: string | null;
  /** Store paths both models are made of: stored once. */
  readonly sharedPaths: readonly string[];
  readonly sharedBytes: number;
  /** This model's files whose content the other has in a store path of its own: the same bytes stored again. */
  readonly sameContent: readonly string[];
  readonly sameContentBytes: number;
}

export async function modelInfo(target: Target, catalog: Catalog): Promise<ModelInfo> {
  if (target.kind === "store") return storeModelInfo(target.model, catalog, null);
  const { locked } = target;
  const built = locked.built[0];
  if (built !== undefined) return storeModelInfo(built, catalog, { name: locked.name, entry: locked.entry });
  return unbuiltEntryInfo(locked.name, locked.entry, catalog);
}

async function storeModelInfo(
  model: StoreModel,
  catalog: Catalog,
  lock: { name: string; entry: LockEntry } | null,
): Promise<ModelInfo> {
  const infos = await infosOf(model.parts, catalog.inventory.infos);
  const paths = model.parts.map((path): InfoPath => {
    const info = infos.get(path);
    return {
      path,
      role: roleOf(path, model),
      inStore: true,
      narHash: info?.narHash ?? null,
      narSize: info?.narSize ?? null,
    };
  });
  const largeByContent = new Map(
    (lock?.entry.files ?? []).filter((file) => file.large).map((file) => [file.sha256, lockedBlobPath(file)]),
  );
  return {
    name: lock?.name ?? model.name,
    lockEntry: lock?.name ?? null,
    source: lock?.entry.source.target ?? sourceDisplay(model.meta.source),
    recorded: model.meta.source,
    resolved: model.meta.resolved,
    revision: resolvedRevision(model.meta.resolved),
    layout: model.meta.layout,
    storePath: model.path,
    rawPath: model.raw,
    files: model.meta.files.map((file) => {
      const blob = largeByContent.get(file.sha256);
      return lock === null
        ? file
        : { ...file, large: blob !== undefined, ...(blob === undefined ? {} : { storePath: blob }) };
    }),
    paths,
    hash: infos.get(model.raw ?? model.path)?.narHash ?? null,
    validation: model.meta.validation,
    roots: model.roots,
    bytes: paths.reduce((total, path) => total + (path.narSize ?? 0), 0),
    sharing: sharingOf(model, catalog, infos),
  };
}

async function unbuiltEntryInfo(name: string, entry: LockEntry, catalog: Catalog): Promise<ModelInfo> {
  const storePaths = lockedStorePaths(name, entry);
  const all = [...storePaths.blobs.values(), ...(storePaths.smallFiles === null ? [] : [storePaths.smallFiles])];
  const valid = await validStorePaths(all);
  const infos = await infosOf([...valid], catalog.inventory.infos);
  const paths = all.map((path): InfoPath => {
    const info = infos.get(path);
    return {
      path,
      role: path === storePaths.smallFiles ? "small files" : "large file",
      inStore: valid.has(path),
      narHash: info?.narHash ?? null,
      narSize: info?.narSize ?? null,
    };
  });
  return {
    name,
    lockEntry: name,
    source: entry.source.target,
    recorded: entry.recorded,
    resolved: entry.resolved,
    revision: resolvedRevision(entry.resolved),
    layout: entry.layout.kind,
    storePath: null,
    rawPath: null,
    files: entry.files.map(({ path, size, sha256, large }) => ({
      path,
      size,
      sha256,
      large,
      ...(large ? { storePath: storePaths.blobs.get(sha256)! } : {}),
    })),
    paths,
    hash: null,
    validation: null,
    roots: uniqueRoots([...valid].flatMap((path) => catalog.inventory.rootsKeeping(path))),
    bytes: paths.reduce((total, path) => total + (path.narSize ?? 0), 0),
    sharing: [],
  };
}

function roleOf(path: string, model: StoreModel): InfoPath["role"] {
  if (path === model.path) return "model";
  if (path === model.raw) return "raw";
  return storePathName(path).startsWith("model-blob-") ? "large file" : "small files";
}

/** Other models the store keeps that share store paths or file contents with `model`. */
function sharingOf(model: StoreModel, catalog: Catalog, infos: ReadonlyMap<string, StorePathInfo>): Sharing[] {
  const parts = new Set(model.parts);
  const files = new Map(model.meta.files.map((file) => [file.sha256, file]));
  const sharing: Sharing[] = [];
  for (const other of catalog.inventory.models) {
    if (other.path === model.path) continue;
    const sharedPaths = other.parts.filter((path) => parts.has(path));
    const sameContent = [
      ...new Set(other.meta.files.filter((file) => files.has(file.sha256)).map((file) => file.sha256)),
    ].map((sha256) => files.get(sha256)!);
    if (sharedPaths.length === 0 && sameContent.length === 0) continue;
    sharing.push({
      name: other.name,
      storePath: other.path,
      sharedPaths,
      sharedBytes: sharedPaths.reduce((total, path) => total + (infos.get(path)?.narSize ?? 0), 0),
      sameContent: sameContent.map((file) => file.path).sort(),
      sameContentBytes: sameContent.reduce((total, file) => total + file.size, 0),
    });
  }
  return sharing;
}

async function infosOf(
  paths: readonly string[],
  known: ReadonlyMap<string, StorePathInfo>,
): Promise<Map<string, StorePathInfo>> {
  const infos = new Map<string, StorePathInfo>();
  const missing: string[] = [];
  for (const path of paths) {
    const info = known.get(path);
    if (info === undefined) missing.push(path);
    else infos.set(path, info);
  }
  for (const [path, info] of await storePathInfos(missing)) infos.set(path, info);
  return infos;
}
