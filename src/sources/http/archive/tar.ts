import { createReadStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import type { BlobWriter, UnpackedFile } from "../../../model/resolved-model.js";
import { UserError } from "../../../errors/user-error.js";
import { zlib } from "../../../util/builtins-on-demand.js";
import { type EntryNames, checkDirectoryName, entryPath, refuseEntry } from "./entry-name.js";

/**
 * Unpacks a .tar or .tar.gz in one sequential pass (tar-stream, node:zlib), each regular
 * file streamed into a blob. ustar, GNU and pax archives are read (long names included);
 * links, devices and fifos are refused, as is any entry type tar-stream does not know
 * (GNU sparse files, for one). Permission bits are not kept: blobs are plain 0644 files.
 */
export async function unpackTar(
  file: string,
  options: {
    readonly gzip: boolean;
    readonly archive: string;
    readonly names: EntryNames;
    readonly writeBlob: BlobWriter;
  },
): Promise<UnpackedFile[]> {
  const { archive, names, writeBlob } = options;
  // Loaded here: only archive sources unpack, and tar-stream with streamx (~80 KB) would be
  // compiled on every fetch otherwise (docs/bench.md, "Fourth round"); node:zlib likewise.
  // tar-stream is CommonJS: its exports are `default`, in node and in the bundle alike.
  const { default: tarStream } = await import("tar-stream");
  const parser = tarStream.extract();
  const input = createReadStream(file);
  const feeding = (options.gzip ? pipeline(input, zlib().createGunzip(), parser) : pipeline(input, parser)).catch(
    (error: unknown) => {
      parser.destroy(error as Error);
    },
  );
  const files: UnpackedFile[] = [];
  try {
    for await (const entry of parser) {
      const { header } = entry;
      // Typed as a known type, but tar-stream gives null for typeflags it does not know.
      const type = (header.type as string | null | undefined) ?? null;
      if (type === "directory") {
        checkDirectoryName(header.name, archive);
        entry.resume();
        continue;
      }
      if (type !== "file" && type !== "contiguous-file") {
        entry.resume();
        throw refuseEntry(archive, header.name, describeType(type, header.linkname));
      }
      const path = entryPath(header.name, archive);
      names.add(path, archive);
      // streamx streams are async-iterable at run time; their types do not say so.
      const written = await writeBlob(entry as unknown as AsyncIterable<Uint8Array>);
      if (written.size !== header.size) {
        throw new UserError({
          what: `The archive ${archive} is truncated: entry ${JSON.stringify(path)} holds ${written.size} of ${header.size} bytes`,
        });
      }
      files.push({ path, size: written.size, sha256: written.sha256 });
    }
  } catch (error) {
    input.destroy();
    throw readFailure(error, archive);
  }
  await feeding;
  return files;
}

function describeType(type: string | null, linkname: string | null | undefined): string {
  switch (type) {
    case "symlink":
      return `it is a symbolic link (to ${JSON.stringify(linkname ?? "")})`;
    case "link":
      return `it is a hard link (to ${JSON.stringify(linkname ?? "")})`;
    case "character-device":
    case "block-device":
      return `it is a ${type.replace("-", " ")}`;
    case "fifo":
      return "it is a fifo";
    default:
      return "its entry type is not one tar-stream knows (a GNU sparse file or a vendor extension)";
  }
}

/** Format errors from tar-stream and zlib become one clear message naming the archive. */
function readFailure(error: unknown, archive: string): unknown {
  if (error instanceof UserError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ABORT_ERR") return error;
  return new UserError({
    what: `Cannot unpack the archive ${archive}`,
    cause: error instanceof Error ? error.message : String(error),
    fix: [
      "The file matched its sha256, so it is the archive that was pinned: check that it is really a tar (or gzip-compressed tar) archive.",
    ],
  });
}
