import { readdir, readFile, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import type { RepoType } from "./types.js";

/**
 * Finds the Hub repo folders inside the served directory. Two kinds are recognised:
 *
 * - Hub cache folders, named `models--org--name`, `datasets--…`, `spaces--…` (what
 *   huggingface_hub writes under HF_HUB_CACHE). The folder name gives the repo id.
 * - Fetched outputs: any directory (or symlink to one, such as a `nix-build` result link)
 *   holding `.nix-model-repo-meta.json`. Their folder names say nothing, so the repo id and
 *   type come from the meta file's `source.repo` and `source.repoType`.
 *
 * The directory itself may also be a single repo folder of either kind.
 */

export interface RepoLocation {
  readonly type: RepoType;
  readonly id: string;
  readonly folder: string;
  readonly origin: "hf-cache" | "fetched-output";
}

export const META_FILE = ".nix-model-repo-meta.json";

const CACHE_FOLDER = /^(model|dataset|space)s--(.+)$/;
/** One id segment as the Hub allows it: letters, digits, "-", "_", "."; no "--" or "..". */
const ID_SEGMENT = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?$/;

export function isValidRepoId(id: string): boolean {
  const segments = id.split("/");
  return (
    segments.length >= 1 &&
    segments.length <= 2 &&
    segments.every((segment) => ID_SEGMENT.test(segment) && !segment.includes("--") && !segment.includes(".."))
  );
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

function parseCacheFolderName(name: string): { type: RepoType; id: string } | undefined {
  const match = CACHE_FOLDER.exec(name);
  if (!match) return undefined;
  return { type: match[1] as RepoType, id: match[2]!.split("--").join("/") };
}

function parseRepoType(value: unknown): RepoType | undefined {
  if (value === undefined || value === null) return "model";
  if (typeof value !== "string") return undefined;
  const singular = value.endsWith("s") ? value.slice(0, -1) : value;
  return singular === "model" || singular === "dataset" || singular === "space" ? singular : undefined;
}

/** Repo id and type from a fetched output's meta file, or why not. */
async function readMetaIdentity(folder: string): Promise<{ type: RepoType; id: string } | string> {
  let meta: unknown;
  try {
    meta = JSON.parse(await readFile(join(folder, META_FILE), "utf8"));
  } catch (error) {
    return `cannot read ${META_FILE}: ${error instanceof Error ? error.message : String(error)}`;
  }
  const source = typeof meta === "object" && meta !== null ? (meta as { source?: unknown }).source : undefined;
  if (typeof source !== "object" || source === null) return `${META_FILE} has no "source" object`;
  // The documented shape is source.repo/source.repoType; a source nested under its kind
  // (source.huggingface.repo) is accepted too.
  const candidates = [source, ...Object.values(source).filter((value) => typeof value === "object" && value !== null)];
  for (const candidate of candidates as Array<{ repo?: unknown; repoType?: unknown }>) {
    if (typeof candidate.repo !== "string") continue;
    const type = parseRepoType(candidate.repoType);
    if (!type) return `${META_FILE} has an unknown source.repoType ${JSON.stringify(candidate.repoType)}`;
    return { type, id: candidate.repo };
  }
  return `${META_FILE} names no Hub repo (source.repo), so it cannot be served under a repo id`;
}

async function identify(folder: string, warn: (message: string) => void): Promise<RepoLocation | undefined> {
  const fromName = parseCacheFolderName(basename(folder));
  if (fromName) {
    if (!(await isDirectory(join(folder, "snapshots")))) {
      warn(`skipping ${folder}: no snapshots/ folder`);
      return undefined;
    }
    if (!isValidRepoId(fromName.id)) {
      warn(`skipping ${folder}: '${fromName.id}' is not a valid repo id`);
      return undefined;
    }
    return { ...fromName, folder, origin: "hf-cache" };
  }
  try {
    await stat(join(folder, META_FILE));
  } catch {
    return undefined; // neither kind: .locks, CACHEDIR.TAG, unrelated files
  }
  const identity = await readMetaIdentity(folder);
  if (typeof identity === "string") {
    warn(`skipping ${folder}: ${identity}`);
    return undefined;
  }
  if (!isValidRepoId(identity.id)) {
    warn(`skipping ${folder}: '${identity.id}' from ${META_FILE} is not a valid repo id`);
    return undefined;
  }
  if (!(await isDirectory(join(folder, "snapshots")))) {
    warn(`skipping ${folder}: it has ${META_FILE} but no snapshots/ folder (an Ollama layout?)`);
    return undefined;
  }
  return { ...identity, folder, origin: "fetched-output" };
}

/** Every repo folder in `root`, in name order; later duplicates of a repo id are skipped with a warning. */
export async function discoverRepos(root: string, warn: (message: string) => void): Promise<RepoLocation[]> {
  const self = await identify(root, warn);
  if (self) return [self];

  const names = (await readdir(root)).sort();
  const found: RepoLocation[] = [];
  const seen = new Map<string, string>();
  for (const name of names) {
    const folder = join(root, name);
    if (!(await isDirectory(folder))) continue;
    const location = await identify(folder, warn);
    if (!location) continue;
    const key = `${location.type}s/${location.id}`;
    const first = seen.get(key);
    if (first !== undefined) {
      warn(`skipping ${folder}: ${key} is already served from ${first}`);
      continue;
    }
    seen.set(key, folder);
    found.push(location);
  }
  return found;
}
