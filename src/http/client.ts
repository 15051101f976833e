import type { Readable } from "node:stream";
import type { Dispatcher } from "undici";
import { TransferFailure } from "../errors/failures.js";
import { JsonError, JsonValueStream } from "../json/index.js";
import type { ByteSource } from "../transfer/types.js";
import { logger } from "../util/log.js";
import { displayUrl } from "../util/secrets.js";
import { bodyReader, contentEncodingOf, decodeBody, type ResponseBodyReader } from "./body.js";
import { httpByteSource, type ByteSourceOptions } from "./byte-source.js";
import { createDispatcher } from "./dispatcher.js";
import { failureOfUnexpected, normaliseHeaders, type ResponseHeaders } from "./failure.js";
import { REDIRECT_STATUSES, exchangeFollowingRedirects, viaRedirect } from "./redirects.js";
import { retryPolicyFrom, withRetries } from "../retry/retry.js";
import { lowSpeedLimitOf, type Credential, type HttpSettings } from "./settings.js";

/**
 * The HTTP client source adapters make their API calls with (tree listings, revision
 * lookups, HEAD metadata). It retries by the shared policy, follows redirects by hand
 * (see redirects.ts for where credentials go) and throws classified TransferFailures.
 * File contents go through `byteSource` to the transfer engine instead.
 */
export interface HttpRequestInit {
  readonly method?: "GET" | "HEAD" | "POST";
  /** Request body of a POST (small, e.g. JSON for an API); see `postJson`. */
  readonly body?: string;
  /** Extra headers. Not Authorization: credentials go in `credential` so redirects can drop them. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly credential?: Credential | undefined;
  readonly signal?: AbortSignal | undefined;
  /** The Accept header. */
  readonly accept?: string;
  /**
   * Statuses returned to the caller instead of thrown (default: any 2xx). A HEAD that
   * wants to see a 404 passes [200, 404]; a status outside the list throws (after retries
   * when it is retryable).
   */
  readonly expectStatus?: number | readonly number[];
  /**
   * Default true. False returns a redirect response itself (its status counts as
   * expected), e.g. to read the Hub's X-Linked-Size and Location without following it.
   */
  readonly followRedirects?: boolean;
}

export interface HttpResponse {
  readonly status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: ResponseHeaders;
  /** The final URL after redirects. May carry a signed query: print it with displayUrl(). */
  readonly url: string;
  /** Decoded body; consume it or `dump()` it to release the connection. */
  readonly body: ResponseBodyReader;
}

/**
 * Reads one JSON answer as its bytes arrive: one of src/json's streams behind a small
 * wrapper (a listing filtered while it is parsed, the one member of an object that matters).
 * A fresh reader is made for each attempt, so an answer cut short and asked again is never
 * read twice. A JsonError thrown by write() or end() stops the read.
 */
export interface JsonReader<T> {
  write(chunk: Uint8Array): void;
  end(): T;
}

/**
 * Bounds on a whole JSON answer (getJson, postJson): src/json's defaults for API replies
 * (32 MiB, nesting 64 deep) and at most a million values, so neither 32 MiB of `[` nor of
 * `{},` costs more than a few times its size. Long listings are read with `readJson`.
 */
const WHOLE_ANSWER_LIMITS = { maxValues: 1_000_000 } as const;

/** A parsed JSON response; headers and the final URL stay available (e.g. for `Link` pagination). */
export interface JsonResponse<T> {
  readonly status: number;
  readonly headers: ResponseHeaders;
  /** The final URL after redirects. May carry a signed query: print it with displayUrl(). */
  readonly url: string;
  /** The parsed body. Its type is the caller's claim: validate what you rely on. */
  readonly body: T;
}

export interface HttpClient {
  readonly settings: HttpSettings;
  /**
   * The dispatcher behind every request (proxies, CA bundle, timeouts, pooling), for
   * clients that speak HTTP themselves, such as the AWS SDK (src/sources/s3/undici-handler.ts).
   * Closed by close().
   */
  readonly dispatcher: Dispatcher;
  request(url: string | URL, init?: HttpRequestInit): Promise<HttpResponse>;
  /**
   * GET and parse JSON (body read inside the retry loop, at most 32 MiB, parsed by src/json
   * within WHOLE_ANSWER_LIMITS). The body's type is the caller's claim: narrow it.
   */
  getJson<T = unknown>(url: string | URL, init?: Omit<HttpRequestInit, "method">): Promise<JsonResponse<T>>;
  /**
   * GET a JSON answer and hand its bytes, as they arrive, to a reader made by `reader` (one
   * per attempt): for listings filtered while parsed, and answers of which little is kept.
   */
  readJson<T>(
    url: string | URL,
    reader: () => JsonReader<T>,
    init?: Omit<HttpRequestInit, "method">,
  ): Promise<JsonResponse<T>>;
  /**
   * POST a JSON body and parse the JSON answer, retried like getJson: only for calls that
   * are safe to repeat (a query such as the Git LFS Batch API's download operation).
   * Content-Type defaults to application/json; pass another in `headers`.
   */
  postJson<T = unknown>(
    url: string | URL,
    body: unknown,
    init?: Omit<HttpRequestInit, "method" | "body">,
  ): Promise<JsonResponse<T>>;
  /** A file's bytes for the transfer engine (no retries here: the engine retries and resumes). */
  byteSource(url: string | URL, options?: ByteSourceOptions): ByteSource;
  /** Closes pooled connections. */
  close(): Promise<void>;
}

export function createHttpClient(
  settings: HttpSettings,
  dispatcher: Dispatcher = createDispatcher(settings),
): HttpClient {
  const policy = retryPolicyFrom(settings);

  const exchangeOnce = async (url: URL, init: HttpRequestInit): Promise<HttpResponse> => {
    const headers: Record<string, string> = {
      "user-agent": settings.userAgent,
      // Sizes and digests are about the real bytes; decodeBody copes if a server compresses anyway.
      "accept-encoding": "identity",
      ...init.headers,
    };
    if (init.accept !== undefined) headers["accept"] = init.accept;
    // The low-speed limit cuts a body that drips (one byte every few seconds never trips the
    // read timeout) by aborting the request with its failure, which the retry loop sees.
    const cut = new AbortController();
    const signal = init.signal === undefined ? cut.signal : AbortSignal.any([init.signal, cut.signal]);
    const exchange = await exchangeFollowingRedirects(dispatcher, url, {
      method: init.method ?? "GET",
      headers,
      ...(init.body === undefined ? {} : { body: init.body }),
      credential: init.credential,
      signal,
      ...(init.followRedirects === undefined ? {} : { followRedirects: init.followRedirects }),
    });
    const raw = exchange.body as unknown as Readable;
    logger.debug(
      `${init.method ?? "GET"} ${displayUrl(url)}: HTTP ${exchange.status}${viaRedirect(url, exchange.url)}`,
    );
    // A HEAD response has no body to decode, whatever its Content-Encoding says.
    const encoding = init.method === "HEAD" ? undefined : contentEncodingOf(exchange.headers["content-encoding"]);
    const unfollowed = init.followRedirects === false && REDIRECT_STATUSES.has(exchange.status);
    if (!unfollowed && !statusExpected(exchange.status, init.expectStatus)) {
      throw await failureOfUnexpected(exchange, encoding);
    }
    return {
      status: exchange.status,
      headers: normaliseHeaders(exchange.headers),
      url: exchange.url.href,
      body: bodyReader(decodeBody(raw, encoding, exchange.url), exchange.url, signal, {
        limit: lowSpeedLimitOf(settings),
        cut: (failure) => cut.abort(failure),
      }),
    };
  };

  const retrying = <T>(url: URL, init: HttpRequestInit, operation: () => Promise<T>): Promise<T> =>
    withRetries(operation, {
      policy,
      signal: init.signal,
      onRetry: (failure, delayMs, attempt) => {
        const what = failure.url === undefined ? ` (${displayUrl(url)})` : "";
        logger.info(
          `${failure.message}${what}; retrying in ${(delayMs / 1000).toFixed(1)} s (attempt ${attempt + 1} of ${policy.maxAttempts})`,
        );
      },
    });

  return {
    settings,
    dispatcher,
    request: (input, init = {}) => {
      const url = new URL(input);
      return retrying(url, init, () => exchangeOnce(url, init));
    },
    getJson: <T>(input: string | URL, init: Omit<HttpRequestInit, "method"> = {}) =>
      requestJson(new URL(input), wholeValue<T>, { ...init, method: "GET", accept: init.accept ?? "application/json" }),
    readJson: <T>(input: string | URL, reader: () => JsonReader<T>, init: Omit<HttpRequestInit, "method"> = {}) =>
      requestJson(new URL(input), reader, { ...init, method: "GET", accept: init.accept ?? "application/json" }),
    postJson: <T>(input: string | URL, body: unknown, init: Omit<HttpRequestInit, "method" | "body"> = {}) => {
      const hasContentType = Object.keys(init.headers ?? {}).some((name) => name.toLowerCase() === "content-type");
      return requestJson(new URL(input), wholeValue<T>, {
        ...init,
        method: "POST",
        body: JSON.stringify(body),
        headers: { ...(hasContentType ? {} : { "content-type": "application/json" }), ...init.headers },
        accept: init.accept ?? "application/json",
      });
    },
    byteSource: (input, options) => httpByteSource(dispatcher, new URL(input), settings.userAgent, options),
    close: () => dispatcher.close(),
  };

  function requestJson<T>(url: URL, reader: () => JsonReader<T>, init: HttpRequestInit): Promise<JsonResponse<T>> {
    // Reading the body is inside the retry: a connection cut mid-body is retried like any other.
    return retrying(url, init, async () => {
      const response = await exchangeOnce(url, init);
      const json = reader();
      try {
        await response.body.each((chunk) => json.write(chunk));
        return { status: response.status, headers: response.headers, url: response.url, body: json.end() };
      } catch (error) {
        throw error instanceof JsonError ? jsonFailure(error, response) : error;
      }
    });
  }
}

/** The reader of getJson and postJson: the whole value, bounded. Its type is the caller's claim. */
function wholeValue<T>(): JsonReader<T> {
  const stream = new JsonValueStream(WHOLE_ANSWER_LIMITS);
  return { write: (chunk) => stream.write(chunk), end: () => stream.end() as T };
}

/**
 * An answer that is not the JSON asked for. What it was (its status and Content-Type: an
 * HTML page from a proxy or a captive portal, a web page at a wrong endpoint) is the first
 * thing a user needs. Not retried: a complete answer that is not the JSON asked for is what
 * that URL serves (an answer cut short is a network failure, and is retried).
 */
function jsonFailure(error: JsonError, response: HttpResponse): TransferFailure {
  const type = response.headers["content-type"];
  const what =
    error.code === "JSON_TOO_DEEP"
      ? "JSON nested too deeply"
      : error.code === "JSON_TOO_LARGE"
        ? "JSON too large (a string, a number or the values in all)"
        : "invalid JSON";
  const answer = `HTTP ${response.status}${type === undefined ? ", no Content-Type" : `, Content-Type ${type}`}`;
  return new TransferFailure(`${what} from ${displayUrl(response.url)} (${answer}): ${error.message}`, {
    retryable: false,
    code: "NMR_BAD_RESPONSE",
    status: response.status,
    url: displayUrl(response.url),
    headers: response.headers,
    cause: error,
  });
}

function statusExpected(status: number, expect: HttpRequestInit["expectStatus"]): boolean {
  if (expect === undefined) return status >= 200 && status < 300;
  return typeof expect === "number" ? status === expect : expect.includes(status);
}
