import type { ResolvedModel } from "../model/resolved-model.js";
import type { TransferredFile } from "../transfer/types.js";
import { type BlobFile, type BlobPlan, finishHuggingFaceLayout, planBlobTransfers } from "./huggingface.js";
import type { ModelMeta } from "../model/meta.js";
import { finishOllamaLayout } from "./ollama.js";
import { checkSnapshotPaths } from "./path-length.js";
import { finishUnpackedLayout, planUnpackDownloads } from "./unpacked.js";

/**
 * The output layout a resolved model asks for (ResolvedModel.layout; docs/architecture.md,
 * "Layouts"), as the two steps fetch-model.ts runs around the download: `plan` names
 * where the engine writes each blob, `finish` writes the rest of the layout and the meta
 * file.
 */
export interface LayoutWriter {
  plan(out: string, files: readonly BlobFile[]): BlobPlan;
  finish(
    out: string,
    model: ResolvedModel,
    plan: BlobPlan,
    transferred: readonly TransferredFile[],
  ): Promise<ModelMeta>;
}

export function layoutWriterFor(model: ResolvedModel): LayoutWriter {
  // Archives to unpack: downloaded outside the output, their entries become the snapshot (unpacked.ts).
  const unpack = model.unpack;
  if (unpack)
    return {
      plan: (_out, files) => planUnpackDownloads(unpack, files),
      finish: (out, resolved, plan, transferred) => finishUnpackedLayout(out, unpack, resolved, plan, transferred),
    };
  const layout = model.layout ?? { kind: "huggingface" };
  switch (layout.kind) {
    case "huggingface":
      return {
        plan: (out, files) => {
          checkSnapshotPaths(
            out,
            files.map((file) => file.path),
          );
          return planBlobTransfers(out, files);
        },
        finish: finishHuggingFaceLayout,
      };
    case "ollama":
      // Both layouts keep blobs under blobs/<name>; the Ollama names are "sha256-<hex>".
      return {
        plan: planBlobTransfers,
        finish: (out, resolved, plan, transferred) => finishOllamaLayout(out, layout, resolved, plan, transferred),
      };
  }
}
