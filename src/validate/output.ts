import { mkdir, readdir, symlink, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { canonicalJson, compareBytes } from "../util/canonical-json.js";
import { META_FILE } from "../model/meta.js";
import type { ValidationReport } from "./types.js";

/**
 * The phase-2 output (docs/architecture.md, "Phases"): the raw output's top-level entries
 * as symlinks into it — blobs, refs, snapshots, trees for a Hugging Face folder; manifests, blobs for
 * Ollama; whatever a layout has — and a meta file of its own: the raw one plus the
 * validation report. Nothing of the model is copied, so its size does not grow with the
 * model's. Snapshot pointers (../../blobs/…) resolve inside the raw output, which is what
 * huggingface_hub reads through the `snapshots` link.
 */
export async function writeValidatedOutput(
  rawDir: string,
  out: string,
  rawMeta: Readonly<Record<string, unknown>>,
  report: ValidationReport,
): Promise<void> {
  const raw = resolve(rawDir);
  await mkdir(out);
  for (const entry of (await readdir(raw)).sort(compareBytes)) {
    if (entry === META_FILE) continue;
    await symlink(join(raw, entry), join(out, entry));
  }
  await writeFile(join(out, META_FILE), canonicalJson({ ...rawMeta, validation: report }), { flag: "wx" });
}
