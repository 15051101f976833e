import { pipeline, Transform, type Readable } from "node:stream";
import type { S3ClientConfig } from "@aws-sdk/client-s3";
import type { Dispatcher } from "undici";
import { TransferFailure } from "../../errors/failures.js";
import { request } from "../../http/undici.js";
import { normaliseHeaders } from "../../http/failure.js";
import { displayUrl } from "../../util/secrets.js";
import type { LowSpeedLimit } from "../../transfer/low-speed.js";
import { answerSpeedWatch } from "../../http/body.js";

/**
 * The AWS SDK's request handler, sending through the fetcher's own undici dispatcher
 * (src/http/dispatcher.ts) instead of the SDK's node:http handler. So S3 traffic gets
 * what every other request gets: http_proxy/https_proxy/no_proxy or the spec's
 * network.proxy, the CA bundle from NIX_SSL_CERT_FILE/SSL_CERT_FILE (a MinIO behind a
 * private CA), and the spec's connect/read timeouts; none of which the SDK's default
 * handler knows about. It does no retries and follows no redirects: the SDK handles S3's
 * own redirects, the transfer engine retries.
 *
 * The SDK's handler contract is structural: `handle(request)` resolves to
 * `{ response: { statusCode, headers, body } }` with a Node Readable body.
 *
 * The SDK reads an XML answer (a listing, an error) whole into memory and parses it with a
 * recursive descent parser (@aws-sdk/xml-builder's parseXML), bounded in neither size nor
 * depth: a hostile endpoint could send gigabytes, or nest elements until the stack
 * overflows. Such answers pass through `boundedXml` first: at most 32 MiB (a page of 1000
 * keys is well under 1 MiB), nested at most 64 elements deep (S3's are 3). They are also
 * held to the spec's low-speed limit (network.timeout.lowSpeedLimit, lowSpeedTime), as every
 * other API answer is (src/http/body.ts): a listing that drips one byte every two seconds never
 * trips the read timeout. Object contents are the transfer engine's, which has its own watch.
 */
export interface SdkRequest {
  readonly method: string;
  readonly protocol: string;
  readonly hostname: string;
  readonly port?: number | undefined;
  /** Already escaped by the SDK. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | readonly string[] | null>> | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

interface SdkResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: Readable;
}

export function undiciRequestHandler(
  dispatcher: Dispatcher,
  lowSpeed?: LowSpeedLimit,
): NonNullable<S3ClientConfig["requestHandler"]> {
  const handler = {
    metadata: { handlerProtocol: "http/1.1" },
    async handle(
      sdkRequest: SdkRequest,
      options?: { readonly abortSignal?: unknown },
    ): Promise<{ response: SdkResponse }> {
      const url = requestUrl(sdkRequest);
      const signal = options?.abortSignal instanceof AbortSignal ? options.abortSignal : undefined;
      const response = await request(url, {
        dispatcher,
        method: sdkRequest.method as Dispatcher.HttpMethod,
        headers: { ...sdkRequest.headers },
        body: requestBody(sdkRequest.body),
        // undici follows no redirect without its interceptor: the SDK reads S3's 301/307 itself.
        ...(signal === undefined ? {} : { signal }),
      });
      const body = response.body as Readable;
      // Object contents are the engine's (a GetObject's 2xx body); listings and errors are XML for the SDK.
      const isXml = sdkRequest.query?.["list-type"] !== undefined || response.statusCode >= 300;
      return {
        response: {
          statusCode: response.statusCode,
          headers: { ...normaliseHeaders(response.headers) },
          body: isXml ? pipeline(body, boundedXml(url, lowSpeed), () => undefined) : body,
        },
      };
    },
    updateHttpClientConfig: () => undefined,
    httpHandlerConfigs: () => ({}),
  };
  return handler as NonNullable<S3ClientConfig["requestHandler"]>;
}

/** The request's URL, its query encoded exactly as the SDK's own handler does (the signature covers it). */
export function requestUrl(sdkRequest: Pick<SdkRequest, "protocol" | "hostname" | "port" | "path" | "query">): URL {
  let host = sdkRequest.hostname;
  if (host.includes(":") && !host.startsWith("[")) host = `[${host}]`;
  const port = sdkRequest.port === undefined ? "" : `:${sdkRequest.port}`;
  const query = buildQueryString(sdkRequest.query ?? {});
  return new URL(`${sdkRequest.protocol}//${host}${port}${sdkRequest.path}${query === "" ? "" : `?${query}`}`);
}

/** @smithy/core's buildQueryString: sorted keys, RFC 3986 escaping, `key` alone for a null value. */
function buildQueryString(query: Readonly<Record<string, string | readonly string[] | null>>): string {
  const parts: string[] = [];
  for (const key of Object.keys(query).sort()) {
    const value = query[key];
    const name = escapeUri(key);
    if (Array.isArray(value)) {
      for (const item of value as readonly string[]) parts.push(`${name}=${escapeUri(item)}`);
    } else if (typeof value === "string") {
      parts.push(`${name}=${escapeUri(value)}`);
    } else {
      parts.push(name);
    }
  }
  return parts.join("&");
}

function escapeUri(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

const MAX_XML_BYTES = 32 * 1024 * 1024;
const MAX_XML_DEPTH = 64;

/**
 * Passes an XML answer through unchanged while counting its bytes and how deep its elements
 * nest (an opening tag `<name` counts one level, `</` and `/>` close one; comments,
 * declarations and CDATA start with `<!` or `<?` and do not count), and fails it past either
 * bound before the SDK sees it; and fails it, retryable, when it arrives slower than `lowSpeed`
 * (the SDK reads these answers at once, so the time between chunks is the network's).
 */
function boundedXml(url: URL, lowSpeed: LowSpeedLimit | undefined): Transform {
  let bytes = 0;
  let depth = 0;
  let previous = 0;
  const refuse = (why: string) =>
    new TransferFailure(`the S3 answer from ${displayUrl(url)} ${why}: refused before the SDK parses it`, {
      retryable: false,
      code: "NMR_BAD_RESPONSE",
      url: displayUrl(url),
    });
  const watch = lowSpeed === undefined ? undefined : answerSpeedWatch(url, lowSpeed, (failure) => xml.destroy(failure));
  watch?.waiting();
  const xml = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      watch?.received(chunk.byteLength);
      watch?.waiting();
      bytes += chunk.byteLength;
      if (bytes > MAX_XML_BYTES) return done(refuse(`is longer than ${MAX_XML_BYTES / (1024 * 1024)} MiB`));
      for (const byte of chunk) {
        if (previous === 0x3c /* < */) {
          if (byte === 0x2f /* / */) depth--;
          else if (byte !== 0x21 /* ! */ && byte !== 0x3f /* ? */) depth++;
        } else if (previous === 0x2f && byte === 0x3e /* /> */) depth--;
        previous = byte;
        if (depth > MAX_XML_DEPTH) return done(refuse(`nests elements deeper than ${MAX_XML_DEPTH} levels`));
      }
      done(null, chunk);
    },
    flush(done) {
      watch?.stop();
      done();
    },
    destroy(error, done) {
      watch?.stop();
      done(error);
    },
  });
  return xml;
}

function requestBody(body: unknown): string | Uint8Array | Readable | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === "string" || body instanceof Uint8Array) return body;
  if (typeof (body as Readable).pipe === "function") return body as Readable;
  throw new TypeError(`unsupported request body type for S3: ${typeof body}`);
}
