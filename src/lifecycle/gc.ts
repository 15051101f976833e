import { lstat, mkdir, readdir, readlink, rm } from "node:fs/promises";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import { UserError } from "../errors/user-error.js";
import { isEntryName, lockedStorePaths } from "../lockfile/index.js";
import { validStorePaths } from "../nix/store.js";
import { addIndirectRoot, gcRoots, isStorePath, storePathName } from "../nix/store-query.js";
import { compareBytes } from "../util/canonical-json.js";
import { printable } from "../util/printable.js";
import type { Target } from "./catalog.js";

/**
 * `nix-model-repo gc pin|unpin|list`: per-user garbage-collector roots for models, as
 * links under `$XDG_DATA_HOME/nix-model-repo/gc-roots` (default ~/.local/share), each
 * registered with `nix-store --add-root` so Nix keeps what it points at (and everything
 * that refers to) until the link is removed. Nix remembers the link by its path (a link
 * to it in <state>/gcroots/auto/), so the folder must not be moved: a moved link is not a
 * root any more (`gc list` says so).
 *
 * A built model is one link, `<name>`, to its store path. A lock entry that is not built
 * yet keeps what `add` downloaded: one link per fixed-output path, `<name>@<store name>`
 * (`@` is in neither a model name nor a store name), replaced by the one `<name>` link
 * once the model is built and pinned again.
 */
export function gcRootsDirectory(env: NodeJS.ProcessEnv = process.env): string {
  // The XDG base directory rule: an unset, empty or relative XDG_DATA_HOME means the default.
  const configured = env["XDG_DATA_HOME"];
  const dataHome =
    configured !== undefined && isAbsolute(configured) ? configured : join(env["HOME"] || homedir(), ".local/share");
  return join(dataHome, "nix-model-repo", "gc-roots");
}

export interface PinLink {
  /** The model name the link is for. */
  readonly name: string;
  readonly link: string;
  /** For a lock entry that is not built: the store name of the fixed-output path. */
  readonly part: string | null;
  /** What the link points at; null when it is not a symlink. */
  readonly target: string | null;
}

export interface Pin extends PinLink {
  /** The target is a valid store path. */
  readonly valid: boolean;
  /** Nix lists the link among its GC roots (it was not moved, its auto link is there). */
  readonly registered: boolean;
}

export interface PinResult {
  readonly name: string;
  readonly pinned: readonly { readonly link: string; readonly path: string }[];
  /** Links of the same name that pointed elsewhere and were removed. */
  readonly replaced: readonly { readonly link: string; readonly path: string | null }[];
  /** A lock entry that is not built: its downloaded files were pinned instead. */
  readonly filesOnly: boolean;
}

export async function pin(target: Target, options: { name?: string | undefined } = {}): Promise<PinResult> {
  const directory = gcRootsDirectory();
  const wanted = pinnedPaths(target);
  const name = options.name ?? wanted.name;
  checkPinName(name);
  const paths =
    wanted.paths.length > 0 && target.kind === "lock" ? [...(await validStorePaths(wanted.paths))] : wanted.paths;
  if (paths.length === 0) {
    throw new UserError({
      what: `Nothing of ${name} is in the store to pin`,
      fix: [
        "Build it first (nix-build, or nix build, of the attribute fromLock gives it), or download it with `nix-model-repo add`.",
      ],
    });
  }
  await mkdir(directory, { recursive: true });
  const links = wanted.filesOnly
    ? paths.sort(compareBytes).map((path) => ({ link: join(directory, `${name}@${storePathName(path)}`), path }))
    : [{ link: join(directory, name), path: paths[0]! }];
  const keep = new Set(links.map((entry) => entry.link));
  const replaced: { link: string; path: string | null }[] = [];
  for (const existing of await pinsNamed(directory, name)) {
    if (links.some((entry) => entry.link === existing.link && entry.path === existing.target)) continue;
    if (existing.target === null) throw notOurs(existing.link);
    replaced.push({ link: existing.link, path: existing.target });
  }
  for (const { link, path } of links) await addIndirectRoot(link, path);
  for (const old of replaced) if (!keep.has(old.link)) await removeLink(old.link);
  return { name, pinned: links, replaced, filesOnly: wanted.filesOnly };
}

/** Removes every link of `name`; returns the links removed (none: it was not pinned). */
export async function unpin(name: string): Promise<PinLink[]> {
  checkPinName(name);
  const directory = gcRootsDirectory();
  const pins = await pinsNamed(directory, name);
  for (const existing of pins) await removeLink(existing.link);
  return pins;
}

export async function listPins(): Promise<Pin[]> {
  const directory = gcRootsDirectory();
  const raw = await linksIn(directory);
  const targets = raw.flatMap((entry) => (entry.target === null ? [] : [entry.target]));
  // Only store paths can be asked about: a link pointed elsewhere is reported as broken.
  const [valid, roots] = await Promise.all([
    validStorePaths(targets.filter((target) => isStorePath(target))),
    raw.length > 0 ? gcRoots() : [],
  ]);
  const registered = new Set(roots.map((root) => root.link));
  return raw.map((entry) => ({
    ...entry,
    valid: entry.target !== null && valid.has(entry.target),
    registered: registered.has(entry.link),
  }));
}

/** What pinning a target keeps: a built model's store path, or a lock entry's fixed-output paths. */
function pinnedPaths(target: Target): { name: string; paths: string[]; filesOnly: boolean } {
  if (target.kind === "store") return { name: target.model.name, paths: [target.model.path], filesOnly: false };
  const { locked } = target;
  const built = locked.built[0];
  if (built !== undefined) return { name: locked.name, paths: [built.path], filesOnly: false };
  const parts = lockedStorePaths(locked.name, locked.entry);
  return {
    name: locked.name,
    paths: [...parts.blobs.values(), ...(parts.smallFiles === null ? [] : [parts.smallFiles])],
    filesOnly: true,
  };
}

function checkPinName(name: string): void {
  if (!isEntryName(name)) {
    throw new UserError(
      {
        what: `${printable(JSON.stringify(name))} cannot name a pin`,
        fix: ["A pin is named like a model: letters, digits and + _ . = ? - (not starting with . - = or ?)."],
      },
      { exitCode: 2 },
    );
  }
}

async function pinsNamed(directory: string, name: string): Promise<PinLink[]> {
  return (await linksIn(directory)).filter((entry) => entry.name === name);
}

async function linksIn(directory: string): Promise<PinLink[]> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const links: PinLink[] = [];
  for (const entry of names.sort(compareBytes)) {
    const at = entry.indexOf("@");
    const link = join(directory, entry);
    const info = await lstat(link);
    links.push({
      name: at === -1 ? entry : entry.slice(0, at),
      part: at === -1 ? null : entry.slice(at + 1),
      link,
      target: info.isSymbolicLink() ? await readlink(link) : null,
    });
  }
  return links;
}

/** Removes a pin's link, and only a link: anything else in the folder is not ours to delete. */
async function removeLink(link: string): Promise<void> {
  const info = await lstat(link);
  if (!info.isSymbolicLink()) throw notOurs(link);
  await rm(link);
}

function notOurs(path: string): UserError {
  return new UserError({
    what: `${printable(path)} is not a link nix-model-repo made`,
    fix: ["Move it out of the gc-roots folder, then run the command again."],
  });
}
