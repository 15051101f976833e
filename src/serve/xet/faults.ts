import { compressLz4Block, encodeLz4Frame } from "../../xet/lz4-encode.js";
import { CHUNK_HEADER_BYTES, CompressionScheme, parseChunkHeader } from "../../xet/index.js";

/**
 * Xet faults a test can ask `serve` for (Fault.xet), to check that a client refuses bad data
 * with a clear error instead of writing it:
 *
 * - in xorb bodies (the first chunk of the bytes served; for the size lie, the first
 *   compressed one): `chunk-version`, `chunk-scheme`, `chunk-uncompressed-size` (one byte
 *   less than the data decodes to), `lz4-bomb` (the chunk replaced, at the same length, by
 *   an LZ4 frame that decodes to megabytes);
 * - in reconstruction replies: `term-unpacked-length` (the first term one byte longer, the
 *   last one shorter, so only the per-term check catches it), `term-outside-fetch` (the first
 *   fetch range one chunk shorter than its term), `total-length` (the last term dropped).
 *
 * An expired token or a 403 from a pre-signed URL need no special kind: answer them with
 * `faults.xetTokenExpired()` / `faults.xorbAccessDenied()`, or shorten the token or URL
 * lifetimes (`xet.tokenTtlSeconds`, `xet.urlTtlSeconds`).
 */
export type XetFault =
  | "chunk-version"
  | "chunk-scheme"
  | "chunk-uncompressed-size"
  | "lz4-bomb"
  | "term-unpacked-length"
  | "term-outside-fetch"
  | "total-length";

export const XORB_FAULTS: ReadonlySet<XetFault> = new Set([
  "chunk-version",
  "chunk-scheme",
  "chunk-uncompressed-size",
  "lz4-bomb",
]);

const ZERO_BLOCK = 64 * 1024;

/** An LZ4 frame of exactly `length` bytes decoding to far more: blocks of compressed zeros. */
function lz4Bomb(length: number): Uint8Array | undefined {
  const zeros = compressLz4Block(new Uint8Array(ZERO_BLOCK));
  const frame = new Uint8Array(length);
  const header = encodeLz4Frame(new Uint8Array(0)).subarray(0, 7); // magic, descriptor, its checksum
  frame.set(header);
  let offset = header.length;
  const view = new DataView(frame.buffer);
  // Each zero block, then one raw block to fill the length exactly, then the end mark.
  while (offset + 4 + zeros.length + 8 <= length) {
    view.setUint32(offset, zeros.length, true);
    frame.set(zeros, offset + 4);
    offset += 4 + zeros.length;
  }
  const rest = length - offset - 8;
  if (offset === 7 || rest < 0) return undefined;
  view.setUint32(offset, (rest | 0x80000000) >>> 0, true);
  return frame; // the raw block's bytes and the end mark are zeros already
}

/** Applies a xorb fault to `body`, whose first byte is the start of a chunk. */
export function corruptXorbBody(body: Uint8Array, fault: XetFault): Uint8Array {
  const copy = Uint8Array.from(body);
  let at = 0;
  if (fault === "chunk-uncompressed-size") {
    // The first compressed chunk: for a raw one the header check would catch the lie first,
    // so a range of raw chunks only is left alone (each refusal then has one cause).
    let found: number | undefined;
    for (let offset = 0; offset + CHUNK_HEADER_BYTES <= copy.length; ) {
      const header = parseChunkHeader(copy.subarray(offset, offset + CHUNK_HEADER_BYTES), "served chunk");
      if (header.scheme !== CompressionScheme.None) {
        found = offset;
        break;
      }
      offset += CHUNK_HEADER_BYTES + header.compressedSize;
    }
    if (found === undefined) return copy;
    at = found;
  }
  const header = parseChunkHeader(copy.subarray(at, at + CHUNK_HEADER_BYTES), "served chunk");
  switch (fault) {
    case "chunk-version":
      copy[at] = 1;
      break;
    case "chunk-scheme":
      copy[at + 4] = 7;
      break;
    case "chunk-uncompressed-size": {
      const lie = header.uncompressedSize - 1;
      copy.set([lie & 0xff, (lie >>> 8) & 0xff, lie >>> 16], at + 5);
      break;
    }
    case "lz4-bomb": {
      const bomb = lz4Bomb(header.compressedSize);
      if (bomb) {
        copy[at + 4] = CompressionScheme.LZ4;
        copy.set(bomb, at + CHUNK_HEADER_BYTES);
      }
      break;
    }
    default:
      break;
  }
  return copy;
}
