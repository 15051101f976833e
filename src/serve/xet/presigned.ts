import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { ByteRange } from "../../xet/index.js";

/**
 * Pre-signed xorb URLs, as the CAS hands out for its transfer host: the URL names the xorb,
 * the byte ranges it may serve (`X-Xet-Signed-Range`, as in V2 replies) and an expiry, all
 * under one signature. As on huggingface.co, a request must send a `Range` header whose every
 * range is one of the signed ones: a missing or different Range is refused (403), so a
 * client that forgets it fails here as it would there.
 */

export type UrlCheck = { readonly ranges: readonly ByteRange[] } | { readonly refused: string };

const formatRanges = (ranges: readonly ByteRange[]) =>
  `bytes=${ranges.map((range) => `${range.start}-${range.end}`).join(",")}`;

/** `bytes=a-b,c-d` with explicit ends only; undefined if it is anything else. */
export function parseExplicitRanges(header: string): ByteRange[] | undefined {
  const match = /^bytes=(.+)$/.exec(header.replace(/\s+/g, ""));
  if (!match) return undefined;
  const ranges: ByteRange[] = [];
  for (const part of match[1]!.split(",")) {
    const bounds = /^(\d+)-(\d+)$/.exec(part);
    if (!bounds) return undefined;
    const start = Number(bounds[1]);
    const end = Number(bounds[2]);
    if (end < start) return undefined;
    ranges.push({ start, end });
  }
  return ranges;
}

export class XorbUrlSigner {
  private readonly key = randomBytes(32);

  constructor(private readonly ttlSeconds: number) {}

  static pathFor(xorbHash: string): string {
    return `/xorbs/default/${xorbHash}`;
  }

  url(baseUrl: string, xorbHash: string, ranges: readonly ByteRange[], now = Date.now()): string {
    const pathname = XorbUrlSigner.pathFor(xorbHash);
    const signedRange = formatRanges(ranges);
    const expires = String(Math.floor(now / 1000) + this.ttlSeconds);
    const query = new URLSearchParams({
      "X-Xet-Signed-Range": signedRange,
      "X-Xet-Expires": expires,
      "X-Xet-Signature": this.signature(pathname, signedRange, expires),
    });
    return `${baseUrl}${pathname}?${query.toString()}`;
  }

  check(pathname: string, query: URLSearchParams, range: string | undefined, now = Date.now()): UrlCheck {
    const signedRange = query.get("X-Xet-Signed-Range");
    const expires = query.get("X-Xet-Expires");
    const signature = query.get("X-Xet-Signature");
    if (signedRange === null || expires === null || signature === null) {
      return { refused: "Query-string authentication requires X-Xet-Signed-Range, X-Xet-Expires and X-Xet-Signature" };
    }
    const expected = Buffer.from(this.signature(pathname, signedRange, expires));
    if (expected.length !== signature.length || !timingSafeEqual(expected, Buffer.from(signature))) {
      return { refused: "The request signature we calculated does not match the signature you provided" };
    }
    if (Number(expires) * 1000 <= now) return { refused: "Request has expired" };
    if (range === undefined) return { refused: "A Range header naming the signed byte ranges is required" };
    const signed = parseExplicitRanges(signedRange) ?? [];
    const asked = parseExplicitRanges(range);
    if (!asked?.every((want) => signed.some((have) => have.start === want.start && have.end === want.end))) {
      return { refused: `Range ${range} is not among the signed ranges ${signedRange}` };
    }
    return { ranges: asked };
  }

  private signature(pathname: string, signedRange: string, expires: string): string {
    return createHmac("sha256", this.key).update(`${pathname}\n${signedRange}\n${expires}`).digest("base64url");
  }
}
