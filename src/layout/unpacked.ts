import type { DownloadedFile, UnpackStep } from "../model/resolved-model.js";
import { archiveResolvedKey, type ModelMeta } from "../model/meta.js";
import type { TransferredFile } from "../transfer/types.js";
import { blobWriterInto } from "./blob-writer.js";
import { type BlobFile, type BlobPlan, type Snapshot, planBlobTransfers, writeSnapshot } from "./huggingface.js";

/**
 * The Hugging Face layout for downloads that are archives (ResolvedModel.unpack): the
 * engine downloads and checks the archives into the step's scratch directory, outside
 * the output, so the output never holds them; then the step streams each archive's
 * entries into content-named blobs, and the layout is finished as for any source,
 * with the entries as the snapshot's files.
 *
 * The archive is read twice in all: written once by the engine (hashed as it arrives),
 * read once by the unpacker. Extracting while downloading would save that read, but
 * would write entries before the archive's sha256 is known to be right.
 */
export function planUnpackDownloads(step: UnpackStep, files: readonly BlobFile[]): BlobPlan {
  return planBlobTransfers(step.scratchDir, files);
}

export async function finishUnpackedLayout(
  out: string,
  step: UnpackStep,
  model: Snapshot,
  plan: BlobPlan,
  transferred: readonly TransferredFile[],
): Promise<ModelMeta> {
  const downloads = model.files.map((file, index): DownloadedFile => {
    const result = transferred[plan.transferOf[index]!]!;
    return { path: file.path, location: result.destination, size: result.size, sha256: result.sha256 };
  });
  const unpacked = await step.unpack(downloads, blobWriterInto(out));
  // The blobs are in place and named by content: the snapshot only links them.
  const archives = Object.fromEntries(
    downloads.map((download) => [archiveResolvedKey(download.path), download.sha256]),
  );
  return writeSnapshot(out, {
    commit: model.commit,
    refs: model.refs,
    metaSource: model.metaSource,
    resolved: { ...model.resolved, ...archives },
    files: unpacked.map((file) => ({ path: file.path, size: file.size, sha256: file.sha256, blob: file.sha256 })),
  });
}
