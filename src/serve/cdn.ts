import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { RepoType } from "./types.js";

/**
 * A stand-in for the Hub's LFS CDN: resolve answers LFS files with a 302 to a pre-signed URL
 * on another host, as huggingface.co does (cas-bridge.xethub.hf.co). The signature is an
 * HMAC over path and expiry with a per-process key; like a real pre-signed URL it needs no
 * Authorization header, and (like S3) the CDN refuses a request that sends one anyway, so a
 * client leaking its Hub token to the CDN fails loudly in tests.
 */
export class CdnSigner {
  private readonly key = randomBytes(32);

  constructor(
    private readonly baseUrl: string,
    private readonly ttlSeconds: number,
  ) {}

  static pathFor(type: RepoType, repoId: string, sha256: string): string {
    return `/cdn-lfs/${type}s/${repoId.split("/").map(encodeURIComponent).join("/")}/${sha256}`;
  }

  private signature(pathname: string, expires: string): string {
    return createHmac("sha256", this.key).update(`${pathname}\n${expires}`).digest("base64url");
  }

  /** The Location for an LFS file; `filename` only decorates it, as the Hub's does. */
  signedUrl(type: RepoType, repoId: string, sha256: string, filename: string, now = Date.now()): string {
    const pathname = CdnSigner.pathFor(type, repoId, sha256);
    const expires = String(Math.floor(now / 1000) + this.ttlSeconds);
    const query = new URLSearchParams({
      "X-Expires": expires,
      "X-Sig": this.signature(pathname, expires),
      "response-content-disposition": `attachment; filename="${filename.replace(/["\\\r\n]/g, "_")}"`,
    });
    return `${this.baseUrl.replace(/\/$/, "")}${pathname}?${query.toString()}`;
  }

  /** Undefined if the URL is valid now, else the reason (S3-style wording). */
  check(pathname: string, query: URLSearchParams, now = Date.now()): string | undefined {
    const expires = query.get("X-Expires");
    const signature = query.get("X-Sig");
    if (expires === null || signature === null)
      return "Query-string authentication requires the X-Sig and X-Expires parameters";
    const expected = Buffer.from(this.signature(pathname, expires));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      return "The request signature we calculated does not match the signature you provided";
    }
    if (Number(expires) * 1000 <= now) return "Request has expired";
    return undefined;
  }
}

/** The XML error body S3-backed CDNs send. */
export function cdnErrorBody(code: string, message: string): Buffer {
  return Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>\n`,
  );
}
