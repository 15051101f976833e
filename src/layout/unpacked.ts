import type { PlannedFile, ResolvedModel, UnpackStep, UnpackedFile } from "../sources/adapter.js";
import type { ByteSource, TransferredFile } from "../transfer/types.js";
import { blobWriterInto } from "./blob-writer.js";
import { finishHuggingFaceLayout, planBlobTransfers, type BlobPlan } from "./huggingface.js";
import type { ModelMeta } from "./meta.js";
import { outputPath } from "./output-path.js";

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
/**
 * The meta file's `resolved` records each archive's sha256 under this key: the archives
 * are not in the output, and `prefetch` reads their digests from here to pin them.
 */
export function archiveResolvedKey(path: string): string {
  return `archive:${path}`;
}

export function planUnpackDownloads(step: UnpackStep, files: readonly PlannedFile[]): BlobPlan {
  return planBlobTransfers(step.scratchDir, files);
}

export async function finishUnpackedLayout(
  out: string,
  step: UnpackStep,
  model: ResolvedModel,
  plan: BlobPlan,
  transferred: readonly TransferredFile[],
  signal?: AbortSignal,
): Promise<ModelMeta> {
  const downloads = model.files.map((file, index) => {
    const result = transferred[plan.transferOf[index]!]!;
    return { path: file.path, location: result.destination, size: result.size, sha256: result.sha256 };
  });
  const unpacked = await step.unpack(downloads, blobWriterInto(out), signal);
  // The blobs are in place and named by content: the layout only links them.
  const files: PlannedFile[] = unpacked.map((file) => ({
    path: file.path,
    size: file.size,
    expected: { sha256: file.sha256 },
    blobName: file.sha256,
    source: alreadyWritten(file),
  }));
  const written: TransferredFile[] = unpacked.map((file) => ({
    path: file.path,
    destination: outputPath(out, "blobs", file.sha256),
    size: file.size,
    sha256: file.sha256,
  }));
  const archives = Object.fromEntries(
    downloads.map((download) => [archiveResolvedKey(download.path), download.sha256]),
  );
  const expanded: ResolvedModel = { ...model, files, resolved: { ...model.resolved, ...archives }, unpack: undefined };
  return finishHuggingFaceLayout(out, expanded, { items: [], transferOf: files.map((_, index) => index) }, written);
}

function alreadyWritten(file: UnpackedFile): ByteSource {
  return {
    description: `${file.path} (unpacked)`,
    supportsRanges: false,
    open: () => Promise.reject(new Error(`internal error: ${file.path} was unpacked, not downloaded`)),
  };
}
