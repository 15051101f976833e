import { joinBytePlanes, splitBytePlanes } from "./byte-grouping.js";
import { type ChunkPool, UNPOOLED } from "./chunk-pool.js";
import { MAX_CHUNK_SIZE } from "./chunking.js";
import { XetFormatError } from "./errors.js";
import { decodeLz4Frame } from "./lz4-decode.js";
import { encodeLz4Frame } from "./lz4-encode.js";

/**
 * One chunk as stored in a xorb (xet-core spec/xorb.md): an 8-byte header — version (0),
 * compressed size (u24 LE), scheme, uncompressed size (u24 LE) — then the compressed bytes.
 */

export const CHUNK_HEADER_BYTES = 8;

export enum CompressionScheme {
  None = 0,
  LZ4 = 1,
  ByteGrouping4LZ4 = 2,
}

export const SCHEME_NAMES: Readonly<Record<CompressionScheme, string>> = {
  [CompressionScheme.None]: "none",
  [CompressionScheme.LZ4]: "lz4",
  [CompressionScheme.ByteGrouping4LZ4]: "bg4-lz4",
};

/**
 * The largest compressed payload accepted. Xet stores a chunk raw when compression does not
 * shrink it, so real payloads stay at or under 128 KiB; twice that leaves room for any LZ4
 * framing while keeping what a hostile header can make a reader buffer small.
 */
export const MAX_COMPRESSED_SIZE = 2 * MAX_CHUNK_SIZE;

export interface ChunkHeader {
  readonly scheme: CompressionScheme;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
}

const fail = (message: string): never => {
  throw new XetFormatError("chunk-header", message);
};

/** Parses and checks a header; `at` names the chunk in messages ("chunk 3 of xorb ab12…"). */
export function parseChunkHeader(bytes: Uint8Array, at: string): ChunkHeader {
  if (bytes.length < CHUNK_HEADER_BYTES) fail(`${at}: the data ends inside its 8-byte header`);
  const version = bytes[0]!;
  if (version !== 0) fail(`${at}: header version ${version}, but Xet only defines version 0`);
  const compressedSize = bytes[1]! | (bytes[2]! << 8) | (bytes[3]! << 16);
  const scheme = bytes[4]!;
  const uncompressedSize = bytes[5]! | (bytes[6]! << 8) | (bytes[7]! << 16);
  if (!(scheme in SCHEME_NAMES)) fail(`${at}: unknown compression scheme ${scheme} (Xet knows 0, 1 and 2)`);
  if (uncompressedSize === 0 || uncompressedSize > MAX_CHUNK_SIZE) {
    fail(`${at}: header declares ${uncompressedSize} bytes uncompressed; Xet chunks hold 1 to ${MAX_CHUNK_SIZE}`);
  }
  if (compressedSize === 0 || compressedSize > MAX_COMPRESSED_SIZE) {
    fail(`${at}: header declares ${compressedSize} compressed bytes; at most ${MAX_COMPRESSED_SIZE} are allowed`);
  }
  if (scheme === CompressionScheme.None && compressedSize !== uncompressedSize) {
    fail(`${at}: an uncompressed chunk declares ${compressedSize} stored bytes but ${uncompressedSize} uncompressed`);
  }
  return { scheme: scheme as CompressionScheme, compressedSize, uncompressedSize };
}

/**
 * The chunk's data, in a buffer from `pool` (the caller gives it back); its length is the
 * header's uncompressed size or this throws.
 */
export function decodeChunkPayload(header: ChunkHeader, payload: Uint8Array, pool: ChunkPool = UNPOOLED): Uint8Array {
  switch (header.scheme) {
    case CompressionScheme.None: {
      // A copy: do not pin the (larger) fetched buffer.
      const data = pool.take(payload.length);
      data.set(payload);
      return data;
    }
    case CompressionScheme.LZ4:
      return decodeLz4Frame(payload, header.uncompressedSize, pool);
    case CompressionScheme.ByteGrouping4LZ4: {
      const planes = decodeLz4Frame(payload, header.uncompressedSize, pool);
      const data = joinBytePlanes(planes, pool.take(planes.length));
      pool.give(planes);
      return data;
    }
  }
}

export function encodeChunkHeader(header: ChunkHeader): Uint8Array {
  const { compressedSize: c, uncompressedSize: u } = header;
  return Uint8Array.of(0, c & 0xff, (c >>> 8) & 0xff, c >>> 16, header.scheme, u & 0xff, (u >>> 8) & 0xff, u >>> 16);
}

/** Header and payload for `data` stored with `scheme`. */
export function encodeChunk(data: Uint8Array, scheme: CompressionScheme): Uint8Array {
  if (data.length === 0 || data.length > MAX_CHUNK_SIZE) {
    throw new RangeError(`a Xet chunk holds 1 to ${MAX_CHUNK_SIZE} bytes, got ${data.length}`);
  }
  const payload =
    scheme === CompressionScheme.None
      ? data
      : encodeLz4Frame(scheme === CompressionScheme.LZ4 ? data : splitBytePlanes(data));
  const header = encodeChunkHeader({ scheme, compressedSize: payload.length, uncompressedSize: data.length });
  const chunk = new Uint8Array(CHUNK_HEADER_BYTES + payload.length);
  chunk.set(header);
  chunk.set(payload, CHUNK_HEADER_BYTES);
  return chunk;
}

/**
 * The smallest encoding of `data`: LZ4 and BG4-LZ4 are both tried (the spec's "brute force"
 * strategy) and the chunk is stored raw unless one of them is smaller.
 */
export function encodeChunkSmallest(data: Uint8Array): { chunk: Uint8Array; scheme: CompressionScheme } {
  let best = { chunk: encodeChunk(data, CompressionScheme.None), scheme: CompressionScheme.None };
  for (const scheme of [CompressionScheme.LZ4, CompressionScheme.ByteGrouping4LZ4]) {
    const chunk = encodeChunk(data, scheme);
    if (chunk.length < best.chunk.length) best = { chunk, scheme };
  }
  return best;
}
