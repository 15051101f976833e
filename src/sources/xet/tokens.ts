import { TransferFailure } from "../../errors/failures.js";
import { displayUrl, registerSecret } from "../../util/secrets.js";

/**
 * Xet access tokens (xet-core spec/auth.md): a bearer token for one CAS, scoped to a repo and
 * revision, that expires. The Hub hands them out from `xet-read-token`; a git-xet LFS server in
 * its Batch reply, with a refresh URL. Each token is registered as a secret the moment it is
 * read, is sent only to its CAS (cas.ts), and is renewed a minute before it expires, as
 * @huggingface/hub does (utils/XetBlob.ts, JWT_SAFETY_PERIOD), or when the CAS refuses it.
 */
export interface XetAccess {
  readonly accessToken: string;
  /** Expiry, Unix seconds. */
  readonly exp: number;
  /** The CAS's base URL (no trailing "/"). */
  readonly casUrl: string;
}

/** Renew this long before `exp`. */
const EXPIRY_MARGIN_MS = 60_000;

export class XetTokens {
  #current: XetAccess | undefined;
  #pending: Promise<XetAccess> | undefined;

  constructor(
    private readonly fetchToken: (signal: AbortSignal) => Promise<XetAccess>,
    initial?: XetAccess,
    private readonly now: () => number = Date.now,
  ) {
    this.#current = initial;
  }

  /** A token that is good for at least another minute. */
  current(signal: AbortSignal): Promise<XetAccess> {
    const token = this.#current;
    if (token !== undefined && token.exp * 1000 - EXPIRY_MARGIN_MS > this.now()) return Promise.resolve(token);
    return this.#renew(signal);
  }

  /** A newer token than `refused` (which the CAS answered 401), fetched once however many ask. */
  replacing(refused: XetAccess, signal: AbortSignal): Promise<XetAccess> {
    if (this.#current !== undefined && this.#current !== refused) return Promise.resolve(this.#current);
    return this.#renew(signal);
  }

  #renew(signal: AbortSignal): Promise<XetAccess> {
    this.#pending ??= this.fetchToken(signal)
      .then((token) => {
        this.#current = token;
        return token;
      })
      .finally(() => {
        this.#pending = undefined;
      });
    return this.#pending;
  }
}

/**
 * `{ accessToken, exp, casUrl }` from a token endpoint (the JSON body, or the same values in
 * X-Xet-* headers), checked. `from` names the endpoint in messages. A CAS on plain http is
 * refused when the token came over https: the token would travel in clear.
 */
export function readXetAccess(value: unknown, from: URL): XetAccess {
  const bad = (why: string) =>
    new TransferFailure(`the Xet token from ${displayUrl(from)} is unusable: ${why}`, {
      retryable: false,
      code: "NMR_BAD_RESPONSE",
      url: displayUrl(from),
    });
  if (typeof value !== "object" || value === null) throw bad("not a JSON object");
  const { accessToken, exp, casUrl } = value as Record<string, unknown>;
  if (typeof accessToken !== "string" || accessToken === "" || /[\s\0]/.test(accessToken))
    throw bad("accessToken is not a token");
  registerSecret(accessToken);
  const expiry = typeof exp === "string" && /^\d+$/.test(exp) ? Number(exp) : exp;
  if (typeof expiry !== "number" || !Number.isSafeInteger(expiry) || expiry <= 0)
    throw bad(`exp ${JSON.stringify(exp)} is not a Unix time`);
  if (typeof casUrl !== "string") throw bad("casUrl is missing");
  let cas: URL;
  try {
    cas = new URL(casUrl);
  } catch {
    throw bad("casUrl is not a URL");
  }
  if (cas.protocol !== "https:" && cas.protocol !== "http:") throw bad(`casUrl is not http(s) but ${cas.protocol}`);
  if (cas.protocol === "http:" && from.protocol === "https:") throw bad(`casUrl ${displayUrl(cas)} is plain http`);
  if (cas.username || cas.password || cas.search || cas.hash) throw bad("casUrl carries credentials or a query");
  return { accessToken, exp: expiry, casUrl: cas.href.replace(/\/+$/, "") };
}
