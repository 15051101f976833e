import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { OllamaOutputLayout, PlannedFile, ResolvedModel } from "../model/resolved-model.js";
import type { TransferredFile } from "../transfer/types.js";
import type { BlobPlan } from "./huggingface.js";
import { buildMeta, writeMeta } from "./meta.js";
import type { MetaFile, ModelMeta } from "../model/meta.js";
import { outputPath } from "./output-path.js";

/**
 * The Ollama layout (docs/architecture.md, "Layouts"): what `ollama pull` leaves in
 * $OLLAMA_MODELS for one model, and nothing else, so a directory assembled from such
 * outputs is what Ollama reads (manifest/paths.go, manifest/manifest.go):
 *
 *   manifests/<host>/<namespace>/<model>/<tag>   the manifest bytes exactly as received
 *   blobs/sha256-<hex>                           config and layers, by content digest
 *   .nix-model-repo-meta.json
 *
 * Ollama finds manifests with the glob manifests/∗/∗/∗/∗ and takes the sha256 of the
 * manifest file as the model ID, so the path has exactly four levels and the bytes are
 * the registry's. No `-partial` files and no empty directories: `ollama serve` deletes
 * stray blobs and fails on empty manifest directories unless OLLAMA_NOPRUNE is set.
 *
 * Blobs are written in place by the engine (planBlobTransfers with blobName
 * "sha256-<hex>"); this writes the manifest and the meta file after the download.
 */
const BLOB_NAME = /^sha256-([0-9a-f]{64})$/;
const NAME_PART = /^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/;

/** What the Ollama layout needs of the resolved model. */
export type OllamaModel = Pick<ResolvedModel, "metaSource" | "resolved"> & {
  readonly files: readonly Pick<PlannedFile, "path" | "blobName">[];
};

export async function finishOllamaLayout(
  out: string,
  layout: OllamaOutputLayout,
  model: OllamaModel,
  plan: BlobPlan,
  transferred: readonly TransferredFile[],
): Promise<ModelMeta> {
  const files: MetaFile[] = model.files.map((file, index) => {
    const result = transferred[plan.transferOf[index]!]!;
    // The engine checked the bytes against the digest; the name must be that digest too.
    const match = file.blobName === null ? null : BLOB_NAME.exec(file.blobName);
    if (match === null || match[1] !== result.sha256 || file.path !== `blobs/${file.blobName}`) {
      throw new Error(
        `internal error: Ollama blob ${JSON.stringify(file.path)} is not named after its content sha256 ${result.sha256}`,
      );
    }
    return { path: file.path, size: result.size, sha256: result.sha256 };
  });

  if (layout.manifestPath.some((part) => !NAME_PART.test(part))) {
    throw new Error(`internal error: unchecked Ollama name parts ${JSON.stringify(layout.manifestPath)}`);
  }
  const manifestFile = outputPath(out, "manifests", ...layout.manifestPath);
  await mkdir(dirname(manifestFile), { recursive: true });
  await writeFile(manifestFile, layout.manifest, { flag: "wx" });
  files.push({
    path: ["manifests", ...layout.manifestPath].join("/"),
    size: layout.manifest.byteLength,
    sha256: createHash("sha256").update(layout.manifest).digest("hex"),
  });

  const meta = buildMeta({ layout: "ollama", source: model.metaSource, resolved: model.resolved, files });
  await writeMeta(out, meta);
  return meta;
}
