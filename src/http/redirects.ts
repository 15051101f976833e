import type { Dispatcher } from "undici";
import { request } from "./undici.js";
import { TransferFailure } from "../errors/failures.js";
import { displayUrl } from "../util/secrets.js";
import { failureFromError } from "../errors/classify.js";
import type { Credential } from "./settings.js";

/**
 * One HTTP exchange with redirects followed by hand, so that we, not undici, decide
 * where a credential goes.
 *
 * The rule: `Authorization` is attached only while the chain is still on the
 * credential's hosts. Once a hop leaves them (the Hub's resolve URL redirecting to a
 * pre-signed CDN URL) or downgrades https to http, the credential is never sent again
 * in that chain, not even if a later hop comes back to an allowed host: a host we do
 * not trust chose that URL.
 */

const MAX_REDIRECTS = 10;

export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

export type ResponseBody = Dispatcher.ResponseData["body"];

export interface ExchangeOptions {
  readonly method: "GET" | "HEAD" | "POST";
  /** Request headers; must not contain Authorization (use `credential`). */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * A small request body (POST: an API call such as the Git LFS Batch API). It is sent
   * again on a 307/308; other redirects of a POST are returned, not followed, because
   * turning an API call into a GET would ask a different question.
   */
  readonly body?: string;
  readonly credential?: Credential | undefined;
  readonly signal?: AbortSignal | undefined;
  /** False: return the first response even when it is a redirect (to read its headers). */
  readonly followRedirects?: boolean;
}

export interface Exchange {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The URL that answered: the last hop of the redirect chain. */
  readonly url: URL;
  readonly body: ResponseBody;
}

export async function exchangeFollowingRedirects(
  dispatcher: Dispatcher,
  start: URL,
  options: ExchangeOptions,
): Promise<Exchange> {
  assertNoAuthorizationHeader(options.headers);
  const allowedHosts = new Set((options.credential?.hosts ?? []).map((host) => host.toLowerCase()));
  let url = start;
  let credentialMaySend = options.credential !== undefined;

  for (let hop = 0; ; hop++) {
    if (!allowedHosts.has(url.host)) credentialMaySend = false;
    const headers: Record<string, string> = { ...options.headers };
    if (credentialMaySend && options.credential) headers["authorization"] = options.credential.authorization;

    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, {
        dispatcher,
        // 303 means "GET the other resource": GET and HEAD stay what they are; a POST is only
        // followed through 307/308, which keep the method (see `body`).
        method: options.method,
        headers,
        ...(options.body === undefined ? {} : { body: options.body }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      throw failureFromError(error, url);
    }

    const location = firstHeader(response.headers["location"]);
    const keepsMethod = response.statusCode === 307 || response.statusCode === 308;
    if (
      !REDIRECT_STATUSES.has(response.statusCode) ||
      location === undefined ||
      options.followRedirects === false ||
      (options.method === "POST" && !keepsMethod)
    ) {
      return { status: response.statusCode, headers: response.headers, url, body: response.body };
    }

    await response.body.dump().catch(() => undefined);
    if (hop + 1 > MAX_REDIRECTS) {
      throw new TransferFailure(`more than ${MAX_REDIRECTS} redirects starting at ${displayUrl(start)}`, {
        retryable: false,
        code: "NMR_BAD_RESPONSE",
        status: response.statusCode,
        url: displayUrl(url),
      });
    }
    const next = resolveLocation(location, url);
    if (url.protocol === "https:" && next.protocol === "http:") credentialMaySend = false;
    url = next;
  }
}

function resolveLocation(location: string, base: URL): URL {
  let next: URL;
  try {
    next = new URL(location, base);
  } catch {
    throw new TransferFailure(`invalid redirect Location from ${displayUrl(base)}`, {
      retryable: false,
      code: "NMR_BAD_RESPONSE",
      url: displayUrl(base),
    });
  }
  if (next.protocol !== "https:" && next.protocol !== "http:") {
    throw new TransferFailure(`redirect to unsupported scheme ${next.protocol} from ${displayUrl(base)}`, {
      retryable: false,
      code: "NMR_BAD_RESPONSE",
      url: displayUrl(base),
    });
  }
  return next;
}

/** ", from <url>" when redirects led elsewhere than asked, for the debug log. */
export function viaRedirect(asked: URL, answered: URL): string {
  return answered.href === asked.href ? "" : `, from ${displayUrl(answered)}`;
}

/** The first value of a response header undici may give as a list. */
export function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function assertNoAuthorizationHeader(headers: Readonly<Record<string, string>>): void {
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase();
    if (lower === "authorization" || lower === "proxy-authorization" || lower === "cookie") {
      // A programming error: such a header would follow every redirect. Credentials go in `credential`.
      throw new TypeError(`pass credentials as \`credential\`, not as a ${name} header`);
    }
  }
}
