import { writeFile } from "node:fs/promises";
import { canonicalJson, compareBytes } from "../util/canonical-json.js";
import { outputPath } from "./output-path.js";
import { META_FILE, META_FORMAT_VERSION, type ModelMeta } from "../model/meta.js";

/** Writes the meta file (src/model/meta.ts) of an output, with sorted keys and files. */

export function buildMeta(meta: Omit<ModelMeta, "formatVersion">): ModelMeta {
  const files = [...meta.files].sort((a, b) => compareBytes(a.path, b.path));
  return { formatVersion: META_FORMAT_VERSION, ...meta, files };
}

export async function writeMeta(out: string, meta: ModelMeta): Promise<void> {
  await writeFile(outputPath(out, META_FILE), canonicalJson(meta), { flag: "wx" });
}
