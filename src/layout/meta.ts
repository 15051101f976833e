import { writeFile } from "node:fs/promises";
import { canonicalJson, compareBytes } from "./canonical-json.js";
import { outputPath } from "./output-path.js";

/**
 * `.nix-model-repo-meta.json` (DESIGN.md §3): what the output holds and where it came
 * from, with nothing time-, machine- or tool-version-dependent in it, so it is part
 * of the fixed-output hash without breaking it.
 */
export const META_FILE = ".nix-model-repo-meta.json";
/** Version of this file's format (not of the tool). */
export const META_FORMAT_VERSION = 1;

export interface MetaFile {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

export interface ModelMeta {
  readonly formatVersion: typeof META_FORMAT_VERSION;
  readonly layout: "huggingface" | "ollama";
  readonly source: Readonly<Record<string, unknown>>;
  readonly resolved: Readonly<Record<string, string>>;
  readonly files: readonly MetaFile[];
}

export function buildMeta(meta: Omit<ModelMeta, "formatVersion">): ModelMeta {
  const files = [...meta.files].sort((a, b) => compareBytes(a.path, b.path));
  return { formatVersion: META_FORMAT_VERSION, ...meta, files };
}

export async function writeMeta(out: string, meta: ModelMeta): Promise<void> {
  await writeFile(outputPath(out, META_FILE), canonicalJson(meta), { flag: "wx" });
}
