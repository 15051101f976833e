import { lstat, readFile, readdir, realpath, stat } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import { compareBytes } from "../util/canonical-json.js";
import { META_FILE, META_FORMAT_VERSION } from "../model/meta.js";
import { UserError } from "../errors/user-error.js";

/**
 * The model as validators see it: the *snapshot view* of a raw (phase 1) output.
 *
 * - Hugging Face layout: `$raw/snapshots/<commit>`, the folder a program gets from
 *   snapshot_download: the model's files by their repo paths (symlinks into ../../blobs).
 * - Ollama layout: `$raw` itself (`manifests/<host>/<ns>/<model>/<tag>`, `blobs/sha256-…`),
 *   which is what OLLAMA_MODELS points at; the meta file is not part of the view.
 *
 * Command validators get the view's root as `$src`; built-in checks get its files.
 */
export type Layout = "huggingface" | "ollama";

export interface ViewFile {
  /** Path relative to the view root, "/"-separated. */
  readonly path: string;
  /** The file itself (a blob), after following symlinks. */
  readonly realPath: string;
  readonly size: number;
}

export interface ModelView {
  /** The raw output, as given (a store path in builds). */
  readonly raw: string;
  /** The view's root: `$src` for command validators. */
  readonly root: string;
  readonly layout: Layout;
  /** The raw output's .nix-model-repo-meta.json. */
  readonly meta: Readonly<Record<string, unknown>>;
  /** Every regular file of the view, sorted by path (bytewise). */
  readonly files: readonly ViewFile[];
  /** Store paths besides `raw` its links may lead into (a locked model's files: ValidationConfig.linkRoots). */
  readonly linkRoots: readonly string[];
}

export async function openModelView(rawDir: string, linkRoots: readonly string[] = []): Promise<ModelView> {
  const raw = resolve(rawDir);
  const meta = await readRawMeta(raw);
  const layout = meta["layout"] as Layout;
  const root = layout === "huggingface" ? await snapshotRoot(raw, meta) : raw;
  const roots = [await realpath(raw)];
  for (const linkRoot of linkRoots) roots.push(await realpath(linkRoot).catch(() => linkRoot));
  const files: ViewFile[] = [];
  await walk(root, "", roots, files, layout === "ollama");
  files.sort((a, b) => compareBytes(a.path, b.path));
  return { raw, root, layout, meta, files, linkRoots };
}

/** Bytes of the model: each distinct blob once (two paths may share a blob). */
export function modelSize(view: ModelView): number {
  const sizes = new Map<string, number>();
  for (const file of view.files) sizes.set(file.realPath, file.size);
  let total = 0;
  for (const size of sizes.values()) total += size;
  return total;
}

async function readRawMeta(raw: string): Promise<Record<string, unknown>> {
  const file = join(raw, META_FILE);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, "utf8"));
  } catch (error) {
    throw notRaw(
      raw,
      `its ${META_FILE} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw notRaw(raw, `its ${META_FILE} is not a JSON object`);
  const meta = json as Record<string, unknown>;
  if (meta["formatVersion"] !== META_FORMAT_VERSION)
    throw notRaw(
      raw,
      `its ${META_FILE} has formatVersion ${JSON.stringify(meta["formatVersion"])}, not ${META_FORMAT_VERSION}`,
    );
  if (meta["layout"] !== "huggingface" && meta["layout"] !== "ollama")
    throw notRaw(raw, `its ${META_FILE} names an unknown layout ${JSON.stringify(meta["layout"])}`);
  if ("validation" in meta) {
    throw new UserError(
      {
        what: `${raw} is already a validated output`,
        fix: ["validate the raw (phase 1) output: the model's passthru.raw"],
      },
      { exitCode: 2 },
    );
  }
  return meta;
}

async function snapshotRoot(raw: string, meta: Record<string, unknown>): Promise<string> {
  const snapshots = join(raw, "snapshots");
  let names: string[];
  try {
    names = (await readdir(snapshots)).sort(compareBytes);
  } catch (error) {
    throw notRaw(raw, `it has no snapshots/ directory (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  if (names.length !== 1) throw notRaw(raw, `snapshots/ holds ${names.length} commits (${names.join(", ")}), not one`);
  const commit = names[0]!;
  const resolved = meta["resolved"];
  const recorded =
    typeof resolved === "object" && resolved !== null ? (resolved as Record<string, unknown>)["commit"] : undefined;
  if (typeof recorded === "string" && recorded !== commit)
    throw notRaw(raw, `its snapshot is ${commit} but ${META_FILE} records commit ${recorded}`);
  return join(snapshots, commit);
}

/**
 * Files under `dir`, following symlinks that stay inside the raw output (or lead into one
 * of the store paths a locked model is assembled from). The fetcher writes only such
 * links; anything else means the output was tampered with or is not one.
 */
async function walk(
  dir: string,
  prefix: string,
  roots: readonly string[],
  out: ViewFile[],
  skipMeta: boolean,
): Promise<void> {
  for (const name of (await readdir(dir)).sort(compareBytes)) {
    if (skipMeta && prefix === "" && name === META_FILE) continue;
    const full = join(dir, name);
    const path = prefix === "" ? name : `${prefix}/${name}`;
    const info = await lstat(full);
    let real = full;
    if (info.isSymbolicLink()) {
      try {
        real = await realpath(full);
      } catch {
        throw damaged(path, "is a dangling symlink (a missing blob)");
      }
      if (!roots.some((root) => real === root || real.startsWith(root + sep)))
        throw damaged(path, "is a symlink that leads outside the output");
    }
    const target = info.isSymbolicLink() ? await stat(real) : info;
    if (target.isDirectory()) await walk(full, path, roots, out, false);
    else if (target.isFile())
      out.push({ path, realPath: info.isSymbolicLink() ? real : await realpath(full), size: target.size });
    else throw damaged(path, "is not a regular file");
  }
}

function notRaw(raw: string, why: string): UserError {
  return new UserError(
    {
      what: `${raw} is not a raw model output: ${why}`,
      fix: ["give validate the output of a fetchModel fixed-output derivation (passthru.raw)"],
    },
    { exitCode: 2 },
  );
}

function damaged(path: string, why: string): UserError {
  return new UserError({
    what: `The model's file ${path} ${why}`,
    fix: ["the raw output is damaged: rebuild it (nix-store --repair-path, or delete it and build again)"],
  });
}
