import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Xet access tokens as the Hub issues them from `xet-read-token` (xet-core spec/auth.md): a
 * bearer token for the CAS, scoped to one repo, with an expiry the client refreshes before.
 * Here: the repo and expiry, HMAC-signed with a per-process key. The Hub token is never
 * accepted by the CAS, and the Xet token is accepted nowhere else.
 */

const PREFIX = "xet_";

export type TokenCheck = { readonly repoKey: string } | { readonly refused: string };

export class XetTokenIssuer {
  private readonly key = randomBytes(32);

  constructor(private readonly ttlSeconds: number) {}

  issue(repoKey: string, now = Date.now()): { accessToken: string; exp: number } {
    const exp = Math.floor(now / 1000) + this.ttlSeconds;
    const payload = Buffer.from(JSON.stringify({ r: repoKey, e: exp })).toString("base64url");
    return { accessToken: `${PREFIX}${payload}.${this.sign(payload)}`, exp };
  }

  check(authorization: string | undefined, now = Date.now()): TokenCheck {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization?.trim() ?? "");
    if (!match) return { refused: "no Xet token: send Authorization: Bearer <accessToken from xet-read-token>" };
    const token = match[1]!;
    const [payload, signature] = token.startsWith(PREFIX) ? token.slice(PREFIX.length).split(".") : [];
    const expected = payload === undefined ? undefined : Buffer.from(this.sign(payload));
    if (
      !expected ||
      signature === undefined ||
      expected.length !== signature.length ||
      !timingSafeEqual(expected, Buffer.from(signature))
    ) {
      return { refused: "invalid Xet token" };
    }
    const { r, e } = JSON.parse(Buffer.from(payload!, "base64url").toString("utf8")) as { r: string; e: number };
    if (e * 1000 <= now) return { refused: "Xet token expired: refresh it from xet-read-token" };
    return { repoKey: r };
  }

  /** Whether `authorization` carries a token this issuer signed, expired or not. */
  issued(authorization: string | undefined): boolean {
    const check = this.check(authorization, 0);
    return "repoKey" in check;
  }

  private sign(payload: string): string {
    return createHmac("sha256", this.key).update(payload).digest("base64url");
  }
}
