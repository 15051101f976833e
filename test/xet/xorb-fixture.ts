/**
 * In-memory xorbs and reconstruction replies for the client-side tests: real chunk encodings
 * (all three schemes), real hashes, and a fetcher that serves byte ranges from memory and
 * records what was asked.
 */
import { CompressionScheme, encodeChunk } from "../../src/xet/chunk-format.js";
import { chunkBytes } from "../../src/xet/chunking.js";
import { chunkHash, hashToHex, xorbHash } from "../../src/xet/hash.js";
import type { RangeFetcher } from "../../src/xet/assembler.js";
import type { PlannedFetch } from "../../src/xet/planner.js";

export interface TestXorb {
  readonly hash: string;
  readonly bytes: Uint8Array;
  /** Serialized start offset of each chunk, plus the end. */
  readonly offsets: number[];
  readonly chunks: Uint8Array[];
}

const SCHEMES = [CompressionScheme.None, CompressionScheme.LZ4, CompressionScheme.ByteGrouping4LZ4];

/** A xorb of `chunks`, chunk i stored with scheme i % 3 (so every scheme appears). */
export function buildXorb(chunks: Uint8Array[], schemes: CompressionScheme[] = SCHEMES): TestXorb {
  const encoded = chunks.map((chunk, index) => encodeChunk(chunk, schemes[index % schemes.length]!));
  const offsets = [0];
  for (const piece of encoded) offsets.push(offsets[offsets.length - 1]! + piece.length);
  const bytes = new Uint8Array(offsets[offsets.length - 1]!);
  for (const [index, piece] of encoded.entries()) bytes.set(piece, offsets[index]!);
  const hash = hashToHex(xorbHash(chunks.map((chunk) => ({ hash: chunkHash(chunk), size: chunk.length }))));
  return { hash, bytes, offsets, chunks };
}

export const urlFor = (xorb: TestXorb) => `https://xorbs.example/default/${xorb.hash}?sig=1`;

/** A V1 term and its own fetch entry for chunks [start, end) of a xorb. */
export function term(xorb: TestXorb, start: number, end: number) {
  const unpacked = xorb.chunks.slice(start, end).reduce((sum, chunk) => sum + chunk.length, 0);
  return { hash: xorb.hash, range: { start, end }, unpacked_length: unpacked };
}

export function fetchEntry(xorb: TestXorb, start: number, end: number) {
  return {
    range: { start, end },
    url: urlFor(xorb),
    url_range: { start: xorb.offsets[start]!, end: xorb.offsets[end]! - 1 },
  };
}

/** A RangeFetcher that hands over what `pieces` yields for each range (a test's server, in a line). */
export function piecewise(
  pieces: (fetch: PlannedFetch, signal: AbortSignal) => AsyncIterable<Uint8Array>,
): RangeFetcher {
  return async (fetch, receive, signal, onSlot) => {
    // As the engine does (src/transfer/receive-assembled.ts): a connection of its own at once,
    // and the next piece once the last is taken.
    onSlot?.();
    for await (const piece of pieces(fetch, signal)) await receive(piece);
  };
}

/** Serves ranges of the given xorbs in `pieceSize` pieces; `calls` records each request. */
export function memoryFetcher(xorbs: TestXorb[], pieceSize = 3000) {
  const calls: Array<{ xorb: string; start: number; end: number }> = [];
  const fetchRange = piecewise(async function* (fetch) {
    calls.push({ xorb: fetch.xorb, start: fetch.bytes.start, end: fetch.bytes.end });
    const xorb = xorbs.find((candidate) => candidate.hash === fetch.xorb)!;
    const body = xorb.bytes.subarray(fetch.bytes.start, fetch.bytes.end + 1);
    for (let offset = 0; offset < body.length; offset += pieceSize) {
      await Promise.resolve();
      yield body.subarray(offset, offset + pieceSize);
    }
  });
  return { fetchRange, calls };
}

/** Text, floats and noise: content each compression scheme suits. */
export function sampleContent(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let state = seed;
  for (let index = 0; index < size; index++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    const region = Math.floor(index / 20000) % 3;
    out[index] = region === 0 ? 97 + (index % 23) : region === 1 ? (index % 4 === 3 ? 63 : state >>> 24) : state >>> 16;
  }
  return out;
}

export { chunkBytes };
