import { constants as zlibConstants, gunzipSync, inflateRawSync } from "node:zlib";
import { ScanError } from "./errors.js";
import { BufferAccess, PrefixAccess, type RandomAccess } from "./random-access.js";

/**
 * Bounded decompression. Output never exceeds `cap` bytes whatever the input claims (a zip bomb
 * inflates 1000:1), and no more compressed input is read than `cap` bytes. When the whole
 * stream does not fit, the longest prefix that does is kept: readers that only need a header
 * still work, and reads past it fail with a LimitError (PrefixAccess).
 */
export interface Inflated {
  readonly data: RandomAccess;
  readonly truncated: boolean;
}

export function inflateBounded(
  compressed: RandomAccess,
  format: "raw" | "gzip",
  cap: number,
  declaredSize: number,
): Inflated {
  const inflate = format === "raw" ? inflateRawSync : gunzipSync;
  const options = { maxOutputLength: cap, finishFlush: zlibConstants.Z_SYNC_FLUSH };
  const available = compressed.size;
  if (available <= cap) {
    try {
      return { data: new BufferAccess(inflate(compressed.read(0, available), options)), truncated: false };
    } catch (error) {
      if (!isTooLarge(error)) throw new ScanError(`compressed data is corrupt: ${(error as Error).message}`);
    }
  }
  for (let take = Math.min(available, cap); take >= 1024; take = Math.floor(take / 4)) {
    try {
      const prefix = inflate(compressed.read(0, take), options);
      return {
        data: new PrefixAccess(prefix, Math.max(declaredSize, prefix.length + 1), "maxInflatedBytes"),
        truncated: true,
      };
    } catch (error) {
      if (!isTooLarge(error)) throw new ScanError(`compressed data is corrupt: ${(error as Error).message}`);
    }
  }
  return { data: new PrefixAccess(new Uint8Array(0), Math.max(declaredSize, 1), "maxInflatedBytes"), truncated: true };
}

function isTooLarge(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return error instanceof RangeError || code === "ERR_BUFFER_TOO_LARGE";
}
