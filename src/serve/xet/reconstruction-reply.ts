import type { ByteRange, ChunkRange } from "../../xet/index.js";
import type { XetFault } from "./faults.js";
import type { XorbUrlSigner } from "./presigned.js";
import type { XetFile, XetStore } from "./store.js";

/**
 * The CAS reconstruction replies for a stored file: `terms` (runs of consecutive chunks of one
 * xorb), and for each xorb the byte ranges that cover them, merged where terms touch or
 * overlap so a range reused by several terms is offered once (V1: one fetch_info entry per
 * range, each with a URL signed for it; V2: one URL per xorb signed for all its ranges).
 * A `Range` request is answered in whole chunks from the one holding its first byte, with
 * `offset_into_first_range` saying how much of that to skip (xet-core spec/api.md).
 */

interface Term {
  readonly xorb: number;
  readonly chunks: ChunkRange;
  readonly unpacked: number;
}

export interface ReplyInput {
  readonly store: XetStore;
  readonly file: XetFile;
  /** Inclusive byte range of the file asked for; undefined for the whole file. */
  readonly range: ByteRange | undefined;
  readonly signer: XorbUrlSigner;
  /** Base of the pre-signed URLs (the CDN host when there is one). */
  readonly xorbBaseUrl: string;
  readonly fault: XetFault | undefined;
}

function termsFor(file: XetFile, range: ByteRange | undefined): { terms: Term[]; offset: number } {
  const terms: Term[] = [];
  let position = 0;
  let offset = 0;
  const first = range?.start ?? 0;
  const last = range?.end ?? file.size - 1;
  for (const chunk of file.chunks) {
    const chunkStart = position;
    position += chunk.size;
    if (position <= first) continue;
    if (chunkStart > last) break;
    if (terms.length === 0) offset = first - chunkStart;
    const previous = terms[terms.length - 1];
    if (previous && previous.xorb === chunk.xorb && previous.chunks.end === chunk.index) {
      terms[terms.length - 1] = {
        ...previous,
        chunks: { start: previous.chunks.start, end: chunk.index + 1 },
        unpacked: previous.unpacked + chunk.size,
      };
    } else {
      terms.push({ xorb: chunk.xorb, chunks: { start: chunk.index, end: chunk.index + 1 }, unpacked: chunk.size });
    }
  }
  return { terms, offset };
}

/** For each xorb (in order of first use), its merged chunk ranges and their bytes. */
function fetchRanges(
  store: XetStore,
  terms: readonly Term[],
): Map<number, Array<{ chunks: ChunkRange; bytes: ByteRange }>> {
  const byXorb = new Map<number, ChunkRange[]>();
  for (const term of terms) byXorb.set(term.xorb, [...(byXorb.get(term.xorb) ?? []), term.chunks]);
  const result = new Map<number, Array<{ chunks: ChunkRange; bytes: ByteRange }>>();
  for (const [xorb, ranges] of byXorb) {
    const merged: ChunkRange[] = [];
    for (const range of [...ranges].sort((a, b) => a.start - b.start)) {
      const last = merged[merged.length - 1];
      if (last && range.start <= last.end)
        merged[merged.length - 1] = { start: last.start, end: Math.max(last.end, range.end) };
      else merged.push(range);
    }
    const offsets = store.xorb(xorb).offsets;
    result.set(
      xorb,
      merged.map((chunks) => ({ chunks, bytes: { start: offsets[chunks.start]!, end: offsets[chunks.end]! - 1 } })),
    );
  }
  return result;
}

function faultyTerms(terms: Term[], fault: XetFault | undefined): Term[] {
  if (fault === "total-length" && terms.length > 0) return terms.slice(0, -1);
  if (fault === "term-unpacked-length" && terms.length > 0) {
    const changed = [...terms];
    changed[0] = { ...changed[0]!, unpacked: changed[0]!.unpacked + 1 };
    const lastIndex = changed.length - 1;
    if (lastIndex > 0) changed[lastIndex] = { ...changed[lastIndex]!, unpacked: changed[lastIndex]!.unpacked - 1 };
    return changed;
  }
  return terms;
}

/** The first fetch range made one chunk shorter (when it has two or more), so its term sticks out. */
function shortenFirstRange(
  ranges: Map<number, Array<{ chunks: ChunkRange; bytes: ByteRange }>>,
  store: XetStore,
): void {
  const [xorb, list] = [...ranges][0] ?? [];
  const first = list?.[0];
  if (xorb === undefined || !first || first.chunks.end - first.chunks.start < 2) return;
  const end = first.chunks.end - 1;
  list![0] = {
    chunks: { start: first.chunks.start, end },
    bytes: { start: first.bytes.start, end: store.xorb(xorb).offsets[end]! - 1 },
  };
}

function prepare(input: ReplyInput) {
  const { terms, offset } = termsFor(input.file, input.range);
  const ranges = fetchRanges(input.store, terms);
  if (input.fault === "term-outside-fetch") shortenFirstRange(ranges, input.store);
  const jsonTerms = faultyTerms(terms, input.fault).map((term) => ({
    hash: input.store.xorb(term.xorb).hash,
    unpacked_length: term.unpacked,
    range: { start: term.chunks.start, end: term.chunks.end },
  }));
  return { terms: jsonTerms, offset, ranges };
}

export function reconstructionV1(input: ReplyInput): object {
  const { terms, offset, ranges } = prepare(input);
  const fetchInfo: Record<string, unknown[]> = {};
  for (const [xorb, list] of ranges) {
    const hash = input.store.xorb(xorb).hash;
    fetchInfo[hash] = list.map(({ chunks, bytes }) => ({
      range: chunks,
      url: input.signer.url(input.xorbBaseUrl, hash, [bytes]),
      url_range: bytes,
    }));
  }
  return { offset_into_first_range: offset, terms, fetch_info: fetchInfo };
}

export function reconstructionV2(input: ReplyInput): object {
  const { terms, offset, ranges } = prepare(input);
  const xorbs: Record<string, unknown[]> = {};
  for (const [xorb, list] of ranges) {
    const hash = input.store.xorb(xorb).hash;
    xorbs[hash] = [
      {
        url: input.signer.url(
          input.xorbBaseUrl,
          hash,
          list.map((entry) => entry.bytes),
        ),
        ranges: list,
      },
    ];
  }
  return { offset_into_first_range: offset, terms, xorbs };
}
