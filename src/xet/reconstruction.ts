import { JsonError, parseJson } from "../json/index.js";
import { CHUNK_HEADER_BYTES } from "./chunk-format.js";
import { MAX_CHUNK_SIZE } from "./chunking.js";
import { XetFormatError } from "./errors.js";
import { isXetHashHex } from "./hash-hex.js";

/**
 * The CAS reconstruction reply (xet-core spec/download_protocol.md; V2 in
 * api_changes/update_260316_v2_reconstruction_multirange.md), parsed from untrusted JSON into
 * one shape for both versions. Every number is checked to be a safe integer in range before
 * anything is sized from it.
 *
 * V1 `fetch_info` gives one URL and byte range per chunk range; V2 `xorbs` gives one URL per
 * xorb signed for several byte ranges. Both become a list of single-range fetches, which is
 * how xet-core downloads V2 by default (HF_XET_CLIENT_ENABLE_MULTIRANGE_FETCHING=false): each
 * Range header names exactly one signed range, so it stays authorised.
 */

/** Chunk indices within a xorb, end-exclusive. */
export interface ChunkRange {
  readonly start: number;
  readonly end: number;
}

/** Bytes within a serialized xorb, end-inclusive (as in an HTTP Range header). */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export interface ReconstructionTerm {
  readonly xorb: string;
  readonly chunks: ChunkRange;
  readonly unpackedLength: number;
}

/** One GET with `Range: bytes=<bytes.start>-<bytes.end>` that returns the chunks `chunks`. */
export interface XorbFetch {
  readonly xorb: string;
  readonly url: string;
  readonly chunks: ChunkRange;
  readonly bytes: ByteRange;
}

export interface Reconstruction {
  readonly offsetIntoFirstRange: number;
  readonly terms: readonly ReconstructionTerm[];
  /** By xorb hash, in the server's order (the first covering entry wins, as the spec says). */
  readonly fetches: ReadonlyMap<string, readonly XorbFetch[]>;
}

/**
 * A xorb holds at most 64 MiB of chunk data and 8192 chunks (xet-core
 * xet_core_structures/src/xorb_object/constants.rs, MAX_XORB_BYTES and MAX_XORB_CHUNKS: the
 * uploader cuts a xorb before either is passed). So a term decodes to at most 64 MiB, and a
 * fetched range — chunks stored raw when compression does not help, each behind its 8-byte
 * header — spans at most 64 MiB plus 8192 headers.
 */
export const MAX_XORB_BYTES = 64 * 1024 * 1024;
export const MAX_XORB_CHUNKS = 8 * 1024;
export const MAX_SERIALIZED_XORB_BYTES = MAX_XORB_BYTES + MAX_XORB_CHUNKS * CHUNK_HEADER_BYTES;

const fail = (message: string): never => {
  throw new XetFormatError("reconstruction", `reconstruction: ${message}`);
};

type JsonObject = Readonly<Record<string, unknown>>;

function object(value: unknown, path: string): JsonObject {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(`${path} must be an object`);
  return value as JsonObject;
}

function array(value: unknown, path: string): readonly unknown[] {
  if (!Array.isArray(value)) fail(`${path} must be an array`);
  return value as readonly unknown[];
}

function integer(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    fail(`${path} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value as number;
}

function xorbHash(value: unknown, path: string): string {
  if (!isXetHashHex(value)) fail(`${path} must be a xorb hash (64 lowercase hex digits), got ${JSON.stringify(value)}`);
  return value as string;
}

function chunkRange(value: unknown, path: string): ChunkRange {
  const range = object(value, path);
  const start = integer(range.start, `${path}.start`, 0, MAX_XORB_CHUNKS - 1);
  const end = integer(range.end, `${path}.end`, start + 1, MAX_XORB_CHUNKS);
  return { start, end };
}

function byteRange(value: unknown, path: string, chunks: ChunkRange): ByteRange {
  const range = object(value, path);
  const start = integer(range.start, `${path}.start`, 0, MAX_SERIALIZED_XORB_BYTES - 1);
  const end = integer(range.end, `${path}.end`, start, MAX_SERIALIZED_XORB_BYTES - 1);
  const minimum = (chunks.end - chunks.start) * (CHUNK_HEADER_BYTES + 1);
  if (end - start + 1 < minimum) {
    fail(`${path} spans ${end - start + 1} bytes, too few for ${chunks.end - chunks.start} chunks`);
  }
  return { start, end };
}

function url(value: unknown, path: string): string {
  if (typeof value !== "string") fail(`${path} must be a string`);
  let parsed: URL | undefined;
  try {
    parsed = new URL(value as string);
  } catch {
    fail(`${path} is not a URL`);
  }
  if (parsed!.protocol !== "http:" && parsed!.protocol !== "https:") {
    fail(`${path} must be an http(s) URL, got the scheme ${parsed!.protocol}`);
  }
  return value as string;
}

function parseTerms(reply: JsonObject): ReconstructionTerm[] {
  return array(reply.terms, "terms").map((value, index) => {
    const path = `terms[${index}]`;
    const term = object(value, path);
    const xorb = xorbHash(term.hash, `${path}.hash`);
    const chunks = chunkRange(term.range, `${path}.range`);
    const count = chunks.end - chunks.start;
    const most = Math.min(count * MAX_CHUNK_SIZE, MAX_XORB_BYTES);
    const unpackedLength = integer(term.unpacked_length, `${path}.unpacked_length`, count, most);
    return { xorb, chunks, unpackedLength };
  });
}

function parseOffset(reply: JsonObject): number {
  return integer(reply.offset_into_first_range ?? 0, "offset_into_first_range", 0, Number.MAX_SAFE_INTEGER);
}

function xorbMap(value: unknown, path: string): Array<[string, readonly unknown[]]> {
  return Object.entries(object(value, path)).map(([hash, entries]) => [
    xorbHash(hash, `a key of ${path}`),
    array(entries, `${path}[${hash.slice(0, 12)}…]`),
  ]);
}

/** `GET /v1/reconstructions/{file_id}`: `fetch_info` with one byte range per entry. */
export function parseReconstructionV1(json: unknown): Reconstruction {
  const reply = object(json, "the reply");
  const fetches = new Map<string, XorbFetch[]>();
  for (const [xorb, entries] of xorbMap(reply.fetch_info, "fetch_info")) {
    fetches.set(
      xorb,
      entries.map((value, index) => {
        const path = `fetch_info[${xorb.slice(0, 12)}…][${index}]`;
        const entry = object(value, path);
        const chunks = chunkRange(entry.range, `${path}.range`);
        return {
          xorb,
          url: url(entry.url, `${path}.url`),
          chunks,
          bytes: byteRange(entry.url_range, `${path}.url_range`, chunks),
        };
      }),
    );
  }
  return { offsetIntoFirstRange: parseOffset(reply), terms: parseTerms(reply), fetches };
}

/** `GET /v2/reconstructions/{file_id}`: `xorbs` with one URL for several byte ranges. */
export function parseReconstructionV2(json: unknown): Reconstruction {
  const reply = object(json, "the reply");
  const fetches = new Map<string, XorbFetch[]>();
  for (const [xorb, entries] of xorbMap(reply.xorbs, "xorbs")) {
    const list: XorbFetch[] = [];
    entries.forEach((value, index) => {
      const path = `xorbs[${xorb.slice(0, 12)}…][${index}]`;
      const entry = object(value, path);
      const entryUrl = url(entry.url, `${path}.url`);
      array(entry.ranges, `${path}.ranges`).forEach((rangeValue, rangeIndex) => {
        const rangePath = `${path}.ranges[${rangeIndex}]`;
        const range = object(rangeValue, rangePath);
        const chunks = chunkRange(range.chunks, `${rangePath}.chunks`);
        list.push({ xorb, url: entryUrl, chunks, bytes: byteRange(range.bytes, `${rangePath}.bytes`, chunks) });
      });
    });
    fetches.set(xorb, list);
  }
  return { offsetIntoFirstRange: parseOffset(reply), terms: parseTerms(reply), fetches };
}

/**
 * The most a reconstruction reply may be. A term is ~150 bytes of JSON and covers at least one
 * chunk (64 KiB on average), so a 4 GiB batch of a file (the fetcher asks for files in batches,
 * as xet-core's spec recommends for huge files) needs a few MiB even at one chunk per term.
 */
export const MAX_RECONSTRUCTION_REPLY_BYTES = 32 * 1024 * 1024;

/** A reply body as received, parsed with bounds (size, depth, string lengths) before it is read. */
export function parseReconstructionReply(body: Uint8Array, version: 1 | 2): Reconstruction {
  let json: unknown;
  try {
    json = parseJson(body, { maxBytes: MAX_RECONSTRUCTION_REPLY_BYTES, maxDepth: 8, maxTextBytes: 64 * 1024 });
  } catch (error) {
    if (error instanceof JsonError) fail(`the reply is not JSON the protocol allows: ${error.message}`);
    throw error;
  }
  return version === 1 ? parseReconstructionV1(json) : parseReconstructionV2(json);
}
