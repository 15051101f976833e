import { PassThrough, Transform, pipeline, type Readable } from "node:stream";
import { TransferFailure } from "../errors/failures.js";
import { displayUrl } from "../util/secrets.js";
import { failureFromError } from "../errors/classify.js";
import { LowSpeedWatch, type LowSpeedLimit } from "../transfer/low-speed.js";
import { zlib } from "../util/builtins-on-demand.js";

/**
 * Response bodies: content decoding and bounded reads.
 *
 * We ask for `Accept-Encoding: identity` everywhere, because sizes, ranges and digests
 * are about the real bytes. Some servers (the Hub's CDN for text files) compress anyway;
 * then the body is decoded here, before anyone counts or hashes it.
 */

/** A response body as callers see it: decoded, errors classified as TransferFailures. */
export interface ResponseBodyReader extends AsyncIterable<Uint8Array> {
  /** The whole body as UTF-8 text; fails beyond `limitBytes` (default 32 MiB). */
  text(limitBytes?: number): Promise<string>;
  /** The whole body as bytes; fails beyond `limitBytes` (default 32 MiB). */
  bytes(limitBytes?: number): Promise<Uint8Array>;
  /**
   * Hands each chunk to `sink` as it arrives, nothing kept; fails beyond `limitBytes` (default
   * 32 MiB). A sink that throws stops the read there and releases the connection.
   */
  each(sink: (chunk: Uint8Array) => void, limitBytes?: number): Promise<void>;
  /** Discards the rest of the body and releases the connection. */
  dump(): Promise<void>;
}

const DEFAULT_BODY_LIMIT_BYTES = 32 * 1024 * 1024;

/**
 * The most a compressed body may decode to: this many times the compressed bytes received so
 * far, plus DECODE_ALLOWANCE_BYTES. Text compresses 3 to 20 times and weights hardly at all; a
 * decompression bomb about 1000 times, deflate's own limit (1 MiB of gzip that decodes to
 * 1 GiB). The caller bounds what it expects on top of this (a listed size, 32 MiB for an API
 * answer); this is the bound when nothing is expected, such as a url: file without a size.
 */
const MAX_DECODE_RATIO = 100;
const DECODE_ALLOWANCE_BYTES = 16 * 1024 * 1024;

/** The Content-Encoding values we can decode; undefined for identity (or no header). */
export function contentEncodingOf(header: string | string[] | undefined): string | undefined {
  const value = (Array.isArray(header) ? header.join(",") : (header ?? "")).trim().toLowerCase();
  return value === "" || value === "identity" ? undefined : value;
}

/** Decodes a body in the given encoding, or fails (not retryable) for one we do not know. */
export function decodeBody(body: Readable, encoding: string | undefined, url: URL): Readable {
  if (encoding === undefined) return body;
  const decoder =
    encoding === "gzip" || encoding === "x-gzip"
      ? zlib().createGunzip()
      : encoding === "deflate"
        ? zlib().createInflate()
        : encoding === "br"
          ? zlib().createBrotliDecompress()
          : undefined;
  if (decoder === undefined) {
    discard(body);
    throw new TransferFailure(`unsupported Content-Encoding "${encoding}" from ${displayUrl(url)}`, {
      retryable: false,
      code: "NMR_BAD_RESPONSE",
      url: displayUrl(url),
    });
  }
  let encodedBytes = 0;
  let decodedBytes = 0;
  const counter = new PassThrough();
  counter.on("data", (chunk: Uint8Array) => {
    encodedBytes += chunk.byteLength;
  });
  const bounded = new Transform({
    transform(chunk: Uint8Array, _encoding, done) {
      decodedBytes += chunk.byteLength;
      if (decodedBytes > encodedBytes * MAX_DECODE_RATIO + DECODE_ALLOWANCE_BYTES) {
        done(decompressionBomb(url, encoding, encodedBytes, decodedBytes));
      } else done(null, chunk);
    },
  });
  // pipeline propagates an error on any stage to the last, which is what we iterate.
  return pipeline(body, counter, decoder, bounded, () => undefined);
}

function decompressionBomb(url: URL, encoding: string, encoded: number, decoded: number): TransferFailure {
  return new TransferFailure(
    `the ${encoding}-encoded answer from ${displayUrl(url)} decodes to more than ${MAX_DECODE_RATIO} times its ` +
      `size (${decoded} bytes from ${encoded}): a decompression bomb, refused before it fills the disk`,
    { retryable: false, code: "NMR_BAD_RESPONSE", url: displayUrl(url) },
  );
}

/**
 * Destroys a body we will not read to the end. undici's body emits an "Request aborted"
 * error when destroyed early; with nobody listening that would crash the process.
 */
export function discard(stream: Readable): void {
  if (stream.destroyed) return;
  stream.on("error", () => undefined);
  stream.destroy();
}

/** Iterates a stream, turning its errors into classified failures (an abort stays an abort). */
export async function* guardedChunks(
  stream: Readable,
  url: URL,
  signal?: AbortSignal,
): AsyncGenerator<Uint8Array, void, undefined> {
  try {
    for await (const chunk of stream as AsyncIterable<Uint8Array>) yield chunk;
    await keepAliveHandBack();
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw failureFromError(error, url);
  } finally {
    // Stopping early (break, return or an error downstream) must release the socket.
    discard(stream);
  }
}

/**
 * Waits until undici has put the connection of a body just read to the end back in its pool.
 * undici does that one event-loop turn after the answer ends (client-h1.js, onMessageComplete:
 * `setImmediate(client[kResume])`, so that a server closing the socket anyway is seen first).
 * A request sent before that turn finds every connection busy and opens a new one: the Hub
 * listing after the revision, or the next file, would cost a TCP and TLS handshake each.
 */
function keepAliveHandBack(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * How a body is held to the low-speed limit: `limit`, and `cut`, which aborts the request
 * (its signal is the one bodyReader gets, so the read ends with the failure `cut` was given).
 */
export interface BodySpeedLimit {
  readonly limit: LowSpeedLimit;
  readonly cut: (failure: TransferFailure) => void;
}

/**
 * A low-speed watch over the answer from `url` (undefined when the limit is off): when it is
 * too slow, `cut` gets a retryable failure that names the URL. For every API answer: the
 * bodies read here, and the XML answers the AWS SDK reads (src/sources/s3/undici-handler.ts).
 */
export function answerSpeedWatch(
  url: URL,
  limit: LowSpeedLimit,
  cut: (failure: TransferFailure) => void,
): LowSpeedWatch | undefined {
  if (limit.limitBytesPerSec <= 0) return undefined;
  return new LowSpeedWatch(limit, (failure) =>
    cut(
      new TransferFailure(`${failure.message} (${displayUrl(url)})`, {
        retryable: true,
        code: failure.code,
        url: displayUrl(url),
      }),
    ),
  );
}

/**
 * The chunks of `stream`, held to the low-speed limit like a file body in the engine: only
 * time spent waiting for the next chunk counts (not the caller's own work between chunks),
 * and the watch starts with the first read, so a body read late or never costs no timer.
 */
async function* watchedChunks(
  stream: Readable,
  url: URL,
  signal: AbortSignal | undefined,
  speed: BodySpeedLimit | undefined,
): AsyncGenerator<Uint8Array, void, undefined> {
  const watch = speed === undefined ? undefined : answerSpeedWatch(url, speed.limit, speed.cut);
  if (watch === undefined) {
    yield* guardedChunks(stream, url, signal);
    return;
  }
  const chunks = guardedChunks(stream, url, signal);
  try {
    for (;;) {
      watch.waiting();
      const next = await chunks.next();
      if (next.done === true) return;
      watch.received(next.value.byteLength);
      yield next.value;
    }
  } finally {
    watch.stop();
    await chunks.return();
  }
}

export function bodyReader(
  stream: Readable,
  url: URL,
  signal?: AbortSignal,
  speed?: BodySpeedLimit,
): ResponseBodyReader {
  const each = async (sink: (chunk: Uint8Array) => void, limitBytes = DEFAULT_BODY_LIMIT_BYTES): Promise<void> => {
    let total = 0;
    for await (const chunk of watchedChunks(stream, url, signal, speed)) {
      total += chunk.byteLength;
      if (total > limitBytes) throw tooLarge(url, limitBytes);
      sink(chunk);
    }
  };
  const bytes = async (limitBytes = DEFAULT_BODY_LIMIT_BYTES): Promise<Uint8Array> => {
    const chunks: Uint8Array[] = [];
    let total = 0;
    await each((chunk) => {
      chunks.push(chunk);
      total += chunk.byteLength;
    }, limitBytes);
    return Buffer.concat(chunks, total);
  };
  return {
    [Symbol.asyncIterator]: () => watchedChunks(stream, url, signal, speed),
    each,
    bytes,
    text: async (limitBytes) => Buffer.from(await bytes(limitBytes)).toString("utf8"),
    dump: async () => discard(stream),
  };
}

/** An API answer longer than the fetcher reads: a broken or hostile server (or the wrong URL). */
function tooLarge(url: URL, limitBytes: number): TransferFailure {
  const size = limitBytes % (1024 * 1024) === 0 ? `${limitBytes / (1024 * 1024)} MiB` : `${limitBytes} bytes`;
  return new TransferFailure(
    `the answer from ${displayUrl(url)} is longer than ${size}, the most the fetcher reads from one API call`,
    { retryable: false, code: "NMR_BAD_RESPONSE", url: displayUrl(url) },
  );
}

/** At most `limitBytes` of a body as text, for error messages; never throws. */
export async function readExcerpt(stream: Readable, limitBytes = 64 * 1024): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Uint8Array>) {
      chunks.push(Buffer.from(chunk));
      total += chunk.byteLength;
      if (total >= limitBytes) break;
    }
  } catch {
    // An error body cut short is still worth what we got.
  } finally {
    discard(stream);
  }
  return total === 0 ? undefined : Buffer.concat(chunks).subarray(0, limitBytes).toString("utf8");
}
