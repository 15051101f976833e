import type { Readable } from "node:stream";
import type { Dispatcher } from "undici";
import { TransferFailure } from "../errors/failures.js";
import type { ByteSource, OpenedBody } from "../transfer/types.js";
import { logger } from "../util/log.js";
import { displayUrl } from "../util/secrets.js";
import { contentEncodingOf, decodeBody, discard, guardedChunks } from "./body.js";
import { failureOfUnexpected, statusText } from "./failure.js";
import { exchangeFollowingRedirects, firstHeader, viaRedirect, type Exchange } from "./redirects.js";
import type { Credential } from "./settings.js";

/**
 * A file on an HTTP server as a ByteSource for the transfer engine: ranged GETs with
 * `Accept-Encoding: identity`, redirects by hand (see redirects.ts), and the response
 * interpreted into { start, totalSize } so the engine can tell a resumed range from a
 * server that ignored Range.
 *
 * After the first successful open that ended on another host (the Hub's resolve URL
 * redirecting to a pre-signed CDN URL), later opens go straight to that URL: a 10 GiB
 * file in 16 MiB parts would otherwise cost 640 round trips through the Hub's resolver
 * and its rate limit. If the remembered URL stops working (signature expired, a
 * different range than asked for), it is forgotten and the original URL is asked again.
 */
export interface ByteSourceOptions {
  readonly credential?: Credential | undefined;
  /** Extra request headers (not Authorization: use `credential`). */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** Safe to print; defaults to the URL without its query string. */
  readonly description?: string | undefined;
}

export function httpByteSource(
  dispatcher: Dispatcher,
  url: URL,
  userAgent: string,
  options: ByteSourceOptions = {},
): ByteSource {
  let remembered: URL | undefined;
  const baseHeaders: Record<string, string> = {
    "user-agent": userAgent,
    ...options.headers,
    "accept-encoding": "identity",
  };

  const attempt = async (target: URL, range: RangeRequest, signal: AbortSignal): Promise<OpenedBody> => {
    const headers = { ...baseHeaders };
    const rangeHeader = rangeHeaderFor(range);
    if (rangeHeader !== undefined) headers["range"] = rangeHeader;
    const exchange = await exchangeFollowingRedirects(dispatcher, target, {
      method: "GET",
      headers,
      credential: options.credential,
      signal,
    });
    logger.debug(
      `GET ${displayUrl(target)}${rangeHeader === undefined ? "" : ` (${rangeHeader})`}: HTTP ${exchange.status}${viaRedirect(target, exchange.url)}`,
    );
    const opened = await interpret(exchange, signal);
    if (exchange.url.host !== url.host) remembered = exchange.url;
    return opened;
  };

  return {
    description: options.description ?? displayUrl(url),
    // Optimistic: the engine falls back to one stream when a server answers a range with 200.
    supportsRanges: true,
    async open(range, signal) {
      const shortcut = remembered;
      if (shortcut === undefined) return attempt(url, range, signal);
      try {
        const opened = await attempt(shortcut, range, signal);
        if (opened.start === range.start) return opened;
        await opened.cancel();
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        // A retryable failure (503, reset) of the CDN is the engine's business; anything else
        // (403 expired signature, 404, 416) may be the shortcut's fault: try the original URL.
        if (error instanceof TransferFailure && error.retryable) throw error;
      }
      remembered = undefined;
      return attempt(url, range, signal);
    },
  };
}

interface RangeRequest {
  readonly start: number;
  readonly end?: number;
}

/** `bytes=start-` or `bytes=start-(end-1)`; none for the whole file. */
export function rangeHeaderFor(range: RangeRequest): string | undefined {
  if (range.end !== undefined) {
    if (range.end <= range.start) throw new RangeError(`empty range [${range.start}, ${range.end})`);
    return `bytes=${range.start}-${range.end - 1}`;
  }
  return range.start > 0 ? `bytes=${range.start}-` : undefined;
}

/**
 * `bytes <first>-<last>/<total|*>` (RFC 9110 §14.4), or undefined when it is not one that
 * makes sense: first after last, last past the total, or numbers beyond exact integers.
 */
export function parseContentRange(
  value: string | undefined,
): { readonly first: number; readonly last: number; readonly total: number | undefined } | undefined {
  const match = /^\s*bytes\s+(\d{1,16})-(\d{1,16})\/(\d{1,16}|\*)\s*$/i.exec(value ?? "");
  if (!match) return undefined;
  const first = Number(match[1]);
  const last = Number(match[2]);
  const total = match[3] === "*" ? undefined : Number(match[3]);
  const exact = [first, last, total ?? 0].every(Number.isSafeInteger);
  if (!exact || first > last || (total !== undefined && last >= total)) return undefined;
  return { first, last, total };
}

async function interpret(exchange: Exchange, signal: AbortSignal): Promise<OpenedBody> {
  const { status, headers, url } = exchange;
  const raw = exchange.body as unknown as Readable;
  const encoding = contentEncodingOf(headers["content-encoding"]);

  if (status === 200) {
    const body = decodeBody(raw, encoding, url);
    // A compressed body's Content-Length counts compressed bytes: the size is unknown.
    const length = encoding === undefined ? numberHeader(headers["content-length"]) : undefined;
    return opened(body, url, signal, 0, length, encoding === undefined, validatorOf(headers, length));
  }

  if (status === 206) {
    const contentRange = parseContentRange(firstHeader(headers["content-range"]));
    if (contentRange === undefined || encoding !== undefined) {
      discard(raw);
      const why = contentRange === undefined ? "without a valid Content-Range" : `encoded as ${encoding}`;
      // One malformed answer is retried like a reset: a flaky proxy or server may do better next time.
      throw new TransferFailure(`${statusText(206)} ${why} from ${displayUrl(url)}`, {
        retryable: true,
        code: "NMR_BAD_RESPONSE",
        status,
        url: displayUrl(url),
      });
    }
    return opened(
      raw,
      url,
      signal,
      contentRange.first,
      contentRange.total,
      true,
      validatorOf(headers, contentRange.total),
    );
  }

  throw await failureOfUnexpected(exchange, encoding);
}

/**
 * What identifies the bytes of an answer (OpenedBody.validator): a strong ETag (RFC 9110
 * §8.8.3: byte-for-byte the same representation), else Last-Modified with the size. A weak
 * ETag ("W/...") promises no such thing.
 */
function validatorOf(headers: Exchange["headers"], size: number | undefined): string | undefined {
  const etag = firstHeader(headers["etag"]);
  if (etag !== undefined && etag !== "" && !etag.startsWith("W/")) return `ETag ${etag}`;
  const modified = firstHeader(headers["last-modified"]);
  if (modified !== undefined && modified !== "" && size !== undefined)
    return `Last-Modified ${modified}, ${size} bytes`;
  return undefined;
}

function opened(
  stream: Readable,
  url: URL,
  signal: AbortSignal,
  start: number,
  totalSize: number | undefined,
  resumable: boolean,
  validator: string | undefined,
): OpenedBody {
  return {
    body: guardedChunks(stream, url, signal),
    start,
    totalSize,
    resumable,
    ...(validator === undefined ? {} : { validator }),
    cancel: async () => discard(stream),
  };
}

function numberHeader(value: string | string[] | undefined): number | undefined {
  const text = firstHeader(value);
  return text !== undefined && /^\d+$/.test(text.trim()) ? Number(text) : undefined;
}
