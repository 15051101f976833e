import { MAX_CHUNK_SIZE } from "./chunking.js";
import { XetFormatError } from "./errors.js";
import type { ChunkRange, Reconstruction, ReconstructionTerm, XorbFetch } from "./reconstruction.js";

/**
 * From a reconstruction, what to download and how the terms map onto it: every term is
 * matched to the first fetch entry of its xorb whose chunk range encloses it (the spec's
 * rule), and each such entry is fetched once however many terms reuse it (dedup). The checks
 * that need the whole reply happen here: every term covered, and the terms adding up to the
 * file's length.
 */

export interface PlannedFetch extends XorbFetch {
  /** The last term (index) that reads it: its decoded chunks are dropped after that term. */
  readonly lastTerm: number;
  /** The chunk ranges some term reads, merged; other chunks of the range are decoded and dropped. */
  readonly keep: readonly ChunkRange[];
  /** The most decoded bytes it may hold: its terms' unpacked lengths, or 128 KiB per kept chunk, whichever is less. */
  readonly keptBytesBound: number;
}

export interface PlannedTerm extends ReconstructionTerm {
  /** Index into `DownloadPlan.fetches`. */
  readonly fetch: number;
}

export interface DownloadPlan {
  readonly terms: readonly PlannedTerm[];
  /** In order of first use. */
  readonly fetches: readonly PlannedFetch[];
  /** Bytes to drop from the start of the first term (offset_into_first_range). */
  readonly skip: number;
  /** Bytes the download yields. */
  readonly length: number;
}

export interface ExpectedLength {
  /** The bytes the caller expects: the file's size, or the length of the byte range asked for. */
  readonly length: number;
  /**
   * True for a whole file: the terms must add up to exactly `length`. For a byte range the
   * last term may run past the range's end (the reply is in whole chunks) and is cut.
   */
  readonly exact: boolean;
}

const fail = (message: string): never => {
  throw new XetFormatError("reconstruction", `reconstruction: ${message}`);
};

const describeTerm = (index: number, term: ReconstructionTerm) =>
  `terms[${index}] (chunks ${term.chunks.start}-${term.chunks.end - 1} of xorb ${term.xorb.slice(0, 12)}…)`;

function mergeRanges(ranges: readonly ChunkRange[]): ChunkRange[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const merged: ChunkRange[] = [];
  for (const range of sorted) {
    const last = merged[merged.length - 1];
    if (last && range.start <= last.end)
      merged[merged.length - 1] = { start: last.start, end: Math.max(last.end, range.end) };
    else merged.push(range);
  }
  return merged;
}

function checkLength(reconstruction: Reconstruction, expected: ExpectedLength): void {
  const { terms, offsetIntoFirstRange: skip } = reconstruction;
  if (terms.length === 0) {
    if (expected.length !== 0 || skip !== 0) fail(`no terms, but ${expected.length} bytes were expected`);
    return;
  }
  if (skip >= terms[0]!.unpackedLength) {
    fail(`offset_into_first_range ${skip} is not inside the first term (${terms[0]!.unpackedLength} bytes)`);
  }
  const total = terms.reduce((sum, term) => sum + term.unpackedLength, 0) - skip;
  if (expected.exact ? total !== expected.length : total < expected.length) {
    fail(`the terms add up to ${total} bytes, but ${expected.length} were expected`);
  }
  if (!expected.exact && total - terms[terms.length - 1]!.unpackedLength >= expected.length && terms.length > 1) {
    fail(`the last term lies wholly past the ${expected.length} bytes asked for`);
  }
}

export function planDownload(reconstruction: Reconstruction, expected: ExpectedLength): DownloadPlan {
  checkLength(reconstruction, expected);
  const fetchIndex = new Map<XorbFetch, number>();
  const fetchTerms: Array<{ fetch: XorbFetch; terms: number[] }> = [];
  const terms = reconstruction.terms.map((term, index): PlannedTerm => {
    const entries = reconstruction.fetches.get(term.xorb);
    if (!entries || entries.length === 0) fail(`${describeTerm(index, term)} names a xorb with no fetch entries`);
    const covering = entries!.find(
      (entry) => entry.chunks.start <= term.chunks.start && term.chunks.end <= entry.chunks.end,
    );
    if (!covering) fail(`${describeTerm(index, term)} is not inside any fetch entry of that xorb`);
    let fetch = fetchIndex.get(covering!);
    if (fetch === undefined) {
      fetch = fetchTerms.length;
      fetchIndex.set(covering!, fetch);
      fetchTerms.push({ fetch: covering!, terms: [] });
    }
    fetchTerms[fetch]!.terms.push(index);
    return { ...term, fetch };
  });
  const fetches = fetchTerms.map(({ fetch, terms: users }): PlannedFetch => {
    const keep = mergeRanges(users.map((index) => terms[index]!.chunks));
    const keptChunks = keep.reduce((sum, range) => sum + range.end - range.start, 0);
    const unpacked = users.reduce((sum, index) => sum + terms[index]!.unpackedLength, 0);
    return {
      ...fetch,
      lastTerm: users[users.length - 1]!,
      keep,
      keptBytesBound: Math.min(unpacked, keptChunks * MAX_CHUNK_SIZE),
    };
  });
  return { terms, fetches, skip: reconstruction.offsetIntoFirstRange, length: expected.length };
}
