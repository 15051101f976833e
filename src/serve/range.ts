/**
 * The single-range subset of HTTP Range (RFC 9110 §14) the Hub and its CDN answer:
 * `bytes=a-b`, `bytes=a-`, `bytes=-n`. A header that is not a valid single byte range is
 * ignored (the full content is sent, as RFC 9110 allows); a valid range that starts past the
 * end (or any range of an empty file) is unsatisfiable (416).
 */

export type RangeRequest =
  | { readonly kind: "full" }
  | { readonly kind: "partial"; readonly start: number; readonly end: number }
  | { readonly kind: "unsatisfiable" };

const SINGLE_RANGE = /^bytes=(\d*)-(\d*)$/;

export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: "full" };
  const match = SINGLE_RANGE.exec(header.trim().replace(/\s+/g, ""));
  if (!match) return { kind: "full" };
  const [, first = "", last = ""] = match;
  if (first === "" && last === "") return { kind: "full" };
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: "unsatisfiable" };
    return { kind: "partial", start: Math.max(0, size - suffix), end: size - 1 };
  }
  // Digits only, so Number() is exact up to 2^53 and merely large beyond: comparisons still hold.
  const start = Number(first);
  const lastRequested = last === "" ? Number.POSITIVE_INFINITY : Number(last);
  if (lastRequested < start) return { kind: "full" };
  if (start >= size) return { kind: "unsatisfiable" };
  return { kind: "partial", start, end: Math.min(lastRequested, size - 1) };
}
