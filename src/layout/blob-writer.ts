import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { access, mkdir, rename, rm } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { BlobWriter } from "../model/resolved-model.js";
import { outputPath } from "./output-path.js";

/**
 * Writes content produced inside the fetcher (archive entries being unpacked) as blobs of
 * the Hugging Face layout: streamed to `blobs/.writing-<n>`, hashed while written, then
 * renamed to `blobs/<sha256>`, or dropped when a blob with that content is already there.
 * Memory stays bounded by the stream's buffers whatever the size.
 */
export function blobWriterInto(out: string): BlobWriter {
  let counter = 0;
  return async (content) => {
    const blobs = outputPath(out, "blobs");
    await mkdir(blobs, { recursive: true });
    const temporary = outputPath(out, "blobs", `.writing-${counter++}`);
    const hash = createHash("sha256");
    let size = 0;
    try {
      await pipeline(
        Readable.from(content),
        async function* (chunks: AsyncIterable<Uint8Array>) {
          for await (const chunk of chunks) {
            hash.update(chunk);
            size += chunk.length;
            yield chunk;
          }
        },
        createWriteStream(temporary, { flags: "wx", mode: 0o644 }),
      );
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    const sha256 = hash.digest("hex");
    const final = outputPath(out, "blobs", sha256);
    if (await exists(final)) await rm(temporary);
    else await rename(temporary, final);
    return { sha256, size };
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
