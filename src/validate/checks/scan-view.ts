import { join, relative, sep } from "node:path";
import { META_FILE } from "../../model/meta.js";
import { scanPaths, type FileReport, type ScanOptions } from "../../scan/index.js";
import type { ModelView } from "../view.js";

export interface ScannedViewFile {
  /** Relative to the view root ($src): "pytorch_model.bin", "manifests/…", "blobs/sha256-…". */
  readonly file: string;
  readonly report: FileReport;
}

/**
 * Scans the model's files with the scanner and names them as the view does. The scanner is
 * given the whole raw output, not the view root, because the snapshot's links lead into
 * ../../blobs and the scanner follows links only inside the directory it walks; it reports
 * each blob once, under its snapshot path. Files the fetcher itself writes beside the model
 * (the meta file, refs/, trees/) are not model content and are left out.
 */
export async function scanView(view: ModelView, options: ScanOptions = {}): Promise<ScannedViewFile[]> {
  const report = await scanPaths([view.raw], { ...options, followLinksInto: view.linkRoots });
  const scanned: ScannedViewFile[] = [];
  for (const file of report.files) {
    const inRaw = relative(view.raw, file.path).split(sep).join("/");
    if (isWrittenByFetcher(view, inRaw)) continue;
    scanned.push({ file: relative(view.root, join(view.raw, inRaw)).split(sep).join("/"), report: file });
  }
  return scanned;
}

function isWrittenByFetcher(view: ModelView, pathInRaw: string): boolean {
  if (pathInRaw === META_FILE) return true;
  return view.layout === "huggingface" && (pathInRaw.startsWith("refs/") || pathInRaw.startsWith("trees/"));
}
