import { execFile } from "node:child_process";
import { UserError } from "../errors/user-error.js";
import { toSri } from "../nar/sri.js";
import { defaultStoreDir } from "./store-path.js";

/**
 * What the lifecycle commands (`list`, `info`, `gc`, `verify --deep`) ask the Nix store:
 * its garbage-collector roots, the closure those keep alive, and each path's registration
 * (NAR hash, NAR size, references). Only through `nix-store`, the interface stable from
 * Nix 2.8 on: the database is Nix's own, and under nix-daemon not readable anyway.
 *
 * A question about many paths is asked in few processes (paths go on the command line in
 * batches; Nix 2.8's nix-store has no --stdin), so `list` costs the same handful of
 * processes on a store of ten paths or ten thousand.
 */

/** One GC root: a link Nix found (a `result` symlink, a profile, a /proc entry) and the store path it keeps. */
export interface GcRoot {
  /** The link as Nix prints it; "{censored}", "{memory:…}", "{temp:…}" for runtime roots. */
  readonly link: string;
  readonly path: string;
}

/** A store path as Nix registered it. */
export interface StorePathInfo {
  readonly path: string;
  /** SRI sha256 of its NAR serialisation: for a recursive fixed-output path, its `hash = ...`. */
  readonly narHash: string;
  readonly narSize: number;
  /** Store paths it refers to (itself included when it refers to itself). */
  readonly references: readonly string[];
}

/**
 * Bytes of paths per nix-store call: each call costs Nix's start-up (~0.1 s), so as many
 * as fit, well below Linux's 2 MiB for argv and environment together.
 */
const BATCH_BYTES = 512 * 1024;

/**
 * Every root the garbage collector would keep (`nix-store --gc --print-roots`). Nix 2.8
 * prints `link -> path`; newer Nix prints the link as a quoted C++ path
 * (`"/home/me/result" -> path`): both are read.
 */
export async function gcRoots(storeDir = defaultStoreDir()): Promise<GcRoot[]> {
  const stdout = await nixStore(["--gc", "--print-roots"], "list the garbage collector's roots");
  const roots: GcRoot[] = [];
  for (const line of stdout.split("\n")) {
    const root = parseRootLine(line, storeDir);
    if (root !== undefined) roots.push(root);
  }
  return roots;
}

export function parseRootLine(line: string, storeDir: string): GcRoot | undefined {
  const arrow = line.lastIndexOf(" -> ");
  if (arrow === -1) return undefined;
  const path = line.slice(arrow + 4);
  if (!isStorePath(path, storeDir)) return undefined;
  let link = line.slice(0, arrow);
  if (link.startsWith('"') && link.endsWith('"') && link.length >= 2) {
    // std::quoted: a backslash escapes the next character.
    link = link.slice(1, -1).replace(/\\(.)/gs, "$1");
  }
  return { link, path };
}

/** The closure of `paths` (each path and everything it refers to, recursively). */
export async function requisites(paths: readonly string[]): Promise<string[]> {
  const closure = new Set<string>();
  for (const batch of batches(unique(paths))) {
    const stdout = await nixStore(["--query", "--requisites", ...batch], "compute the closure of the GC roots");
    for (const line of stdout.split("\n")) if (line !== "") closure.add(line);
  }
  return [...closure];
}

/**
 * Each path's registration, from `nix-store --dump-db PATH...` (the validity registration
 * Nix has written since 1.x: path, NAR hash in hex, NAR size, deriver, the number of
 * references, the references). Every path must be valid.
 */
export async function storePathInfos(paths: readonly string[]): Promise<Map<string, StorePathInfo>> {
  const infos = new Map<string, StorePathInfo>();
  for (const batch of batches(unique(paths))) {
    const stdout = await nixStore(["--dump-db", ...batch], "read the store's registration of the models");
    for (const info of parseRegistrations(stdout)) infos.set(info.path, info);
  }
  return infos;
}

export function parseRegistrations(text: string): StorePathInfo[] {
  const lines = text.split("\n");
  const infos: StorePathInfo[] = [];
  let at = 0;
  const next = (): string => {
    const line = lines[at++];
    if (line === undefined) throw malformed("it ends inside a registration");
    return line;
  };
  while (at < lines.length && lines[at] !== "") {
    const path = next();
    const hash = next().replace(/^sha256:/, "");
    if (!/^[0-9a-f]{64}$/.test(hash)) throw malformed(`the NAR hash of ${path} is not sha256 in hex`);
    const narSize = Number(next());
    if (!Number.isSafeInteger(narSize) || narSize < 0) throw malformed(`the NAR size of ${path} is not a number`);
    next(); // the deriver
    const count = Number(next());
    if (!Number.isSafeInteger(count) || count < 0) throw malformed(`the reference count of ${path} is not a number`);
    const references: string[] = [];
    for (let i = 0; i < count; i++) references.push(next());
    infos.push({ path, narHash: toSri(Buffer.from(hash, "hex")), narSize, references });
  }
  return infos;
}

/**
 * Makes `link` a symlink to `path` and registers it as an indirect GC root: Nix links to
 * it from <state>/gcroots/auto/, so the path lives while `link` does, and removing `link`
 * lets the next collection delete it. Nix 2.8 and every later Nix register an --add-root
 * link this way wherever it is (later ones accept --indirect and ignore it; Nix before
 * 2.4 needed it, so it is passed). `-r` on a path that is valid realises nothing.
 */
export async function addIndirectRoot(link: string, path: string): Promise<void> {
  await nixStore(["--add-root", link, "--indirect", "--realise", path], `register ${link} as a GC root`, {
    offline: true,
  });
}

/** The store path a path inside the store belongs to (`/nix/store/<hash>-<name>`), else undefined. */
export function storePathOf(path: string, storeDir = defaultStoreDir()): string | undefined {
  if (!path.startsWith(`${storeDir}/`)) return undefined;
  const name = path.slice(storeDir.length + 1).split("/")[0]!;
  const top = `${storeDir}/${name}`;
  return isStorePath(top, storeDir) ? top : undefined;
}

/** `<storeDir>/<32 nix32 characters>-<name>`, the name in Nix's store-name characters. */
export function isStorePath(path: string, storeDir = defaultStoreDir()): boolean {
  if (!path.startsWith(`${storeDir}/`)) return false;
  return /^[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+\-._?=]{1,211}$/.test(path.slice(storeDir.length + 1));
}

/** The name part of a store path: `/nix/store/<hash>-tiny` → `tiny`. */
export function storePathName(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  return base.slice(33);
}

function* batches(paths: readonly string[]): Generator<string[]> {
  let batch: string[] = [];
  let bytes = 0;
  for (const path of paths) {
    if (batch.length > 0 && bytes + path.length + 1 > BATCH_BYTES) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(path);
    bytes += path.length + 1;
  }
  if (batch.length > 0) yield batch;
}

function unique(paths: readonly string[]): string[] {
  return [...new Set(paths)];
}

function malformed(why: string): UserError {
  return new UserError({
    what: `Cannot read what nix-store --dump-db printed: ${why}`,
    fix: ["This nix-model-repo does not understand this Nix's output: please report it, with `nix-store --version`."],
  });
}

/** Runs nix-store; a failure is a UserError naming what was being done and Nix's own words. */
function nixStore(args: readonly string[], doing: string, { offline = false } = {}): Promise<string> {
  const fullArgs = offline ? [...args, "--option", "substituters", ""] : [...args];
  return new Promise((resolve, reject) => {
    execFile("nix-store", fullArgs, { maxBuffer: 1 << 30, encoding: "utf8" }, (error, stdout, stderr) => {
      if (!error) {
        resolve(stdout);
        return;
      }
      const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
      reject(
        new UserError({
          what: `Could not ${doing}`,
          cause: missing ? "nix-store is not on PATH" : stderr.trim() || error.message,
          fix: missing
            ? ["Install Nix (2.8 or later) and make sure nix-store is on PATH."]
            : ["Check that Nix works for this user (`nix-store --gc --print-roots`), and that the store is reachable."],
        }),
      );
    });
  });
}
