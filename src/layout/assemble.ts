import { copyFile, mkdir, stat, symlink } from "node:fs/promises";
import { dirname, isAbsolute } from "node:path";
import type { ModelMeta } from "../model/meta.js";
import type { HubTreeEntry } from "../model/resolved-model.js";
import { type LinkedFile, writeSnapshot } from "./huggingface.js";
import { buildMeta, writeMeta } from "./meta.js";
import { outputPath } from "./output-path.js";

/**
 * A locked model's output, assembled from files already in the store (docs/lockfile.md):
 * the layout a fetch writes (docs/architecture.md, "Layouts"), with each blob a symlink
 * to the fixed-output path holding its bytes instead of a copy, so the output costs a few
 * kilobytes whatever the model's size, and its closure is one path per large file.
 *
 *   Hugging Face: blobs/<blob> → /nix/store/…-model-blob-<sha256> (or …-<name>-files/<sha256>);
 *                 snapshots, refs, trees/<commit>.json and the meta file as a fetch writes them.
 *   Ollama:       blobs/sha256-<hex> → the same; the manifest copied (Ollama reads its bytes).
 */
export interface AssembledFile {
  /** Checked relative path (the lock's): in the snapshot (Hugging Face) or in the output (Ollama). */
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  /** An absolute path holding exactly these bytes. */
  readonly target: string;
}

export interface HubAssembledFile extends AssembledFile {
  readonly blob: string;
  readonly hubTreeEntry?: HubTreeEntry;
}

export type Assembly =
  | {
      readonly layout: "huggingface";
      readonly commit: string;
      readonly refs: readonly string[];
      readonly metaSource: Readonly<Record<string, unknown>>;
      readonly resolved: Readonly<Record<string, string>>;
      readonly files: readonly HubAssembledFile[];
    }
  | {
      readonly layout: "ollama";
      readonly metaSource: Readonly<Record<string, unknown>>;
      readonly resolved: Readonly<Record<string, string>>;
      readonly files: readonly AssembledFile[];
      /** The path among `files` that is the manifest: copied, not linked. */
      readonly manifest: string;
    };

export async function assembleLayout(out: string, assembly: Assembly): Promise<ModelMeta> {
  await mkdir(out);
  for (const file of assembly.files) await checkTarget(file);
  if (assembly.layout === "huggingface") {
    await mkdir(outputPath(out, "blobs"));
    const linked = new Set<string>();
    for (const file of assembly.files) {
      if (linked.has(file.blob)) continue;
      linked.add(file.blob);
      await symlink(file.target, outputPath(out, "blobs", file.blob));
    }
    const files: LinkedFile[] = assembly.files.map(({ path, size, sha256, blob, hubTreeEntry }) => ({
      path,
      size,
      sha256,
      blob,
      ...(hubTreeEntry === undefined ? {} : { hubTreeEntry }),
    }));
    const { commit, refs, metaSource, resolved } = assembly;
    return writeSnapshot(out, { commit, refs, metaSource, resolved, files });
  }
  for (const file of assembly.files) {
    const destination = outputPath(out, ...file.path.split("/"));
    await mkdir(dirname(destination), { recursive: true });
    if (file.path === assembly.manifest) await copyFile(file.target, destination);
    else await symlink(file.target, destination);
  }
  const meta = buildMeta({
    layout: "ollama",
    source: assembly.metaSource,
    resolved: assembly.resolved,
    files: assembly.files.map(({ path, size, sha256 }) => ({ path, size, sha256 })),
  });
  await writeMeta(out, meta);
  return meta;
}

/** A link must lead to a regular file of the recorded size: a cheap check that the inputs are the lock's. */
async function checkTarget(file: AssembledFile): Promise<void> {
  if (!isAbsolute(file.target)) throw new Error(`internal error: ${file.path} links to a relative path`);
  const info = await stat(file.target).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`${file.path}: its bytes are not at ${file.target} (${error.code ?? error.message})`);
  });
  if (!info.isFile() || info.size !== file.size) {
    throw new Error(
      `${file.path}: ${file.target} is ${info.isFile() ? `${info.size} bytes` : "not a regular file"}, but the lock says ${file.size} bytes`,
    );
  }
}
