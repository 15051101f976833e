import type { BlobWriter, DownloadedFile, UnpackedFile } from "../../../model/resolved-model.js";
import { checkUniquePaths } from "../../remote-path.js";
import { logger } from "../../../util/log.js";
import { UserError } from "../../../errors/user-error.js";
import { archiveKind } from "./kind.js";
import { EntryNames } from "./entry-name.js";
import { unpackTar } from "./tar.js";
import { unpackZip } from "./zip.js";

/**
 * Unpacks every downloaded archive into one snapshot: entries keep their paths inside
 * the archive (no top-level directory is stripped), archives are read in the order the
 * spec lists them, and two entries with the same path, in one archive or across
 * archives, are refused rather than one silently winning.
 */
export async function unpackArchives(
  downloads: readonly DownloadedFile[],
  writeBlob: BlobWriter,
): Promise<UnpackedFile[]> {
  const names = new EntryNames();
  const files: UnpackedFile[] = [];
  for (const download of downloads) {
    const kind = archiveKind(download.path);
    const options = { archive: download.path, names, writeBlob };
    let unpacked: UnpackedFile[];
    switch (kind) {
      case "tar":
      case "tar.gz":
        unpacked = await unpackTar(download.location, { ...options, gzip: kind === "tar.gz" });
        break;
      case "zip":
        unpacked = await unpackZip(download.location, options);
        break;
      case undefined:
        throw new Error(`internal error: ${download.path} is not an archive (the spec parser checks this)`);
    }
    if (unpacked.length === 0) {
      throw new UserError({
        what: `The archive ${download.path} holds no files`,
        fix: ["Check the URL: with unpack = true every listed archive must contain at least one file."],
      });
    }
    logger.info(`unpacked ${download.path}: ${unpacked.length} file${unpacked.length === 1 ? "" : "s"}`);
    // One by one: an archive may hold more files than a spread passes as arguments.
    for (const file of unpacked) files.push(file);
  }
  checkUniquePaths(
    files.map((file) => file.path),
    downloads.length === 1 ? `the archive ${downloads[0]!.path}` : "the archives",
  );
  return files;
}
