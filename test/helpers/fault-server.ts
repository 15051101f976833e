/**
 * A real HTTP server on loopback for transfer and client tests, with faults injected on
 * the server side: the client under test is never mocked.
 *
 * It listens on 127.0.0.1 and 127.0.0.2 with the same port (Linux routes all of 127/8
 * to lo), so "a redirect to another host" is a real host change for the client.
 *
 * Files are either given bytes or generated deterministically from (seed, offset), so
 * a 1 GiB file costs no memory on the server. Every request is logged with the headers
 * the tests assert on (Range, Authorization), the host address it arrived at and the
 * body bytes sent.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { gzipSync } from "node:zlib";
import { listenOnLoopbackPair, type LoopbackPair } from "./loopback-pair.js";

export interface Faults {
  /** Answer these first, one per request, before serving normally (e.g. 503, 503). */
  readonly statuses?: readonly {
    readonly status: number;
    readonly headers?: Readonly<Record<string, string>>;
    readonly body?: string;
  }[];
  /** Cut the connection after this many body bytes, on the first `dropTimes` (default 1) GET responses. */
  readonly dropAfterBytes?: number;
  readonly dropTimes?: number;
  /** Answer every Range request with 200 and the whole file. */
  readonly ignoreRange?: boolean;
  /** Requests arriving at 127.0.0.1 get a 302 to the same path on 127.0.0.2, with a signed query. */
  readonly redirectToOtherHost?: boolean;
  /** A signed redirect URL answers 403 after this many uses (it expired); a new redirect signs a new one. */
  readonly otherHostExpiresAfter?: number;
  /** Flip the byte at this offset in every response (the listing's digest stays that of the good file). */
  readonly corruptAt?: number;
  /** Send the body gzip-compressed (ignoring Accept-Encoding: identity and Range). */
  readonly gzip?: boolean;
  /** Send this many body bytes, then go silent (connection left open) on the first `stallTimes` (default 1) GET responses. */
  readonly stallAfterBytes?: number;
  readonly stallTimes?: number;
  /** Send at most this many bytes per 100 ms. */
  readonly trickleBytesPer100Ms?: number;
  /** Send `bytes` body bytes every `everyMs` milliseconds (e.g. one byte every 2 s). */
  readonly trickle?: { readonly bytes: number; readonly everyMs: number };
  /** Send this ETag (and keep it on every answer). */
  readonly etag?: string;
  /** Send the content as it is, labelled with this Content-Encoding (content already compressed: a bomb). */
  readonly contentEncoding?: string;
  /** Answer the first this many GET requests with bytes that are not HTTP, then close. */
  readonly garbageTimes?: number;
  /** Answer the first this many ranged GET requests with 206 and a Content-Range that makes no sense. */
  readonly badContentRangeTimes?: number;
  /** Answer 401 unless Authorization equals this. */
  readonly requireAuthorization?: string;
  /**
   * Close the connection after every response, as HTTP/1.0 servers (Python's http.server),
   * many simple servers, proxies and S3-compatible stores do: "with-length" sends
   * `Connection: close` and Content-Length; "at-eof" sends no length, so the close itself
   * ends the body. With `dropAfterBytes` the close comes early: a truncated response.
   */
  readonly closeConnection?: "with-length" | "at-eof";
}

export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  /** Local address the request arrived at: "127.0.0.1" or "127.0.0.2". */
  readonly host: string;
  readonly range: string | undefined;
  readonly authorization: string | undefined;
  readonly acceptEncoding: string | undefined;
  status: number;
  bytesSent: number;
  /** Whether the server cut the connection on purpose. */
  dropped: boolean;
}

type Content =
  | { readonly kind: "bytes"; readonly bytes: Buffer }
  | { readonly kind: "generated"; readonly size: number; readonly seed: number };

interface Entry {
  readonly content: Content;
  readonly faults: Faults;
  statusIndex: number;
  drops: number;
  stalls: number;
  garbage: number;
  badRanges: number;
  /** Uses of each signature minted by redirects. */
  readonly signatureUses: Map<string, number>;
}

export type RouteHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  record: RequestRecord,
) => void | Promise<void>;

const BLOCK = 64 * 1024;
const blockCache = new Map<number, Buffer>();

/** The 64 KiB pseudo-random base block of a seed (xorshift32). */
function baseBlock(seed: number): Buffer {
  const cached = blockCache.get(seed);
  if (cached) return cached;
  const block = Buffer.alloc(BLOCK);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < BLOCK; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    block.writeUInt32LE(x, i);
  }
  blockCache.set(seed, block);
  return block;
}

/** Bytes [start, end) of the generated file `seed`: the base block, stamped with the block number. */
export function generatedBytes(seed: number, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  const base = baseBlock(seed);
  let offset = start;
  while (offset < end) {
    const blockIndex = Math.floor(offset / BLOCK);
    const blockStart = blockIndex * BLOCK;
    const from = offset - blockStart;
    const to = Math.min(BLOCK, end - blockStart);
    const block = Buffer.from(base);
    block.writeUInt32LE(blockIndex >>> 0, 0);
    block.writeUInt32LE(Math.floor(blockIndex / 2 ** 32), 8);
    block.copy(out, offset - start, from, to);
    offset = blockStart + to;
  }
  return out;
}

/** sha256 of a generated file, computed in 8 MiB steps. */
export function generatedSha256(seed: number, size: number): string {
  const hash = createHash("sha256");
  for (let offset = 0; offset < size; offset += 8 * 1024 * 1024) {
    hash.update(generatedBytes(seed, offset, Math.min(size, offset + 8 * 1024 * 1024)));
  }
  return hash.digest("hex");
}

export class FaultServer {
  readonly log: RequestRecord[] = [];
  readonly #entries = new Map<string, Entry>();
  readonly #routes = new Map<string, RouteHandler>();
  #listeners: LoopbackPair | undefined;

  static async start(): Promise<FaultServer> {
    const server = new FaultServer();
    await server.#listen();
    return server;
  }

  get port(): number {
    return this.#listeners!.port;
  }

  /** Base URL on one of the two loopback hosts. */
  origin(host: "127.0.0.1" | "127.0.0.2" = "127.0.0.1"): string {
    return this.#listeners!.origin(host);
  }

  url(path: string, host: "127.0.0.1" | "127.0.0.2" = "127.0.0.1"): string {
    return `${this.origin(host)}${path}`;
  }

  /** Serve given bytes at `path`. */
  serveBytes(path: string, bytes: Buffer, faults: Faults = {}): void {
    this.#entries.set(path, {
      content: { kind: "bytes", bytes },
      faults,
      statusIndex: 0,
      drops: 0,
      stalls: 0,
      garbage: 0,
      badRanges: 0,
      signatureUses: new Map(),
    });
  }

  /** Serve `size` generated bytes at `path`. */
  serveGenerated(path: string, size: number, seed: number, faults: Faults = {}): void {
    this.#entries.set(path, {
      content: { kind: "generated", size, seed },
      faults,
      statusIndex: 0,
      drops: 0,
      stalls: 0,
      garbage: 0,
      badRanges: 0,
      signatureUses: new Map(),
    });
  }

  /** A custom handler (JSON APIs and the like). */
  route(path: string, handler: RouteHandler): void {
    this.#routes.set(path, handler);
  }

  requestsFor(path: string): RequestRecord[] {
    return this.log.filter((record) => record.path === path);
  }

  async close(): Promise<void> {
    await this.#listeners?.close();
  }

  async #listen(): Promise<void> {
    this.#listeners = await listenOnLoopbackPair((request, response) => {
      void this.#handle(request, response).catch(() => response.destroy());
    });
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "http://placeholder");
    const record: RequestRecord = {
      method: request.method ?? "GET",
      path: url.pathname,
      query: url.search,
      host: (request.socket.localAddress ?? "").replace(/^::ffff:/, ""),
      range: request.headers.range,
      authorization: request.headers.authorization,
      acceptEncoding: request.headers["accept-encoding"],
      status: 0,
      bytesSent: 0,
      dropped: false,
    };
    this.log.push(record);

    const route = this.#routes.get(url.pathname);
    if (route) {
      await route(request, response, record);
      record.status = response.statusCode;
      return;
    }
    const entry = this.#entries.get(url.pathname);
    if (!entry) return this.#finish(response, record, 404, { "content-type": "text/plain" }, "not found");
    const { faults } = entry;

    if (faults.requireAuthorization !== undefined && request.headers.authorization !== faults.requireAuthorization) {
      return this.#finish(
        response,
        record,
        401,
        { "x-error-code": "GatedRepo", "x-error-message": "Access is restricted" },
        '{"error":"restricted"}',
      );
    }
    if (faults.redirectToOtherHost && record.host === "127.0.0.1") {
      const signature = `very-secret-signature-${entry.signatureUses.size + 1}`;
      entry.signatureUses.set(signature, 0);
      const location = `${this.url(url.pathname, "127.0.0.2")}?X-Signature=${signature}`;
      return this.#finish(response, record, 302, { location }, "");
    }
    if (faults.otherHostExpiresAfter !== undefined && record.host === "127.0.0.2") {
      const signature = url.searchParams.get("X-Signature") ?? "";
      const uses = (entry.signatureUses.get(signature) ?? Number.POSITIVE_INFINITY) + 1;
      entry.signatureUses.set(signature, uses);
      if (uses > faults.otherHostExpiresAfter) {
        return this.#finish(response, record, 403, { "content-type": "text/plain" }, "Request has expired");
      }
    }
    const scripted = faults.statuses?.[entry.statusIndex];
    if (scripted) {
      entry.statusIndex += 1;
      return this.#finish(response, record, scripted.status, scripted.headers ?? {}, scripted.body ?? "");
    }
    if (request.method === "GET" && entry.garbage < (faults.garbageTimes ?? 0)) {
      entry.garbage += 1;
      record.status = -1;
      // Straight onto the socket: no status line, no headers, nothing an HTTP client can parse.
      response.socket?.end("\x00\x01garbage, not HTTP\r\n\r\n");
      return;
    }

    const size = entry.content.kind === "bytes" ? entry.content.bytes.length : entry.content.size;
    const read = (start: number, end: number): Buffer => {
      const bytes =
        entry.content.kind === "bytes"
          ? Buffer.from(entry.content.bytes.subarray(start, end))
          : generatedBytes(entry.content.seed, start, end);
      if (faults.corruptAt !== undefined && faults.corruptAt >= start && faults.corruptAt < end) {
        const index = faults.corruptAt - start;
        bytes[index] = (bytes[index] ?? 0) ^ 0xff;
      }
      return bytes;
    };

    if (faults.contentEncoding !== undefined) {
      const body = read(0, size);
      response.writeHead(200, {
        "content-encoding": faults.contentEncoding,
        "content-type": "application/octet-stream",
        "content-length": String(body.length),
        ...(faults.etag === undefined ? {} : { etag: faults.etag }),
      });
      record.status = 200;
      if (request.method === "HEAD") return void response.end();
      await this.#send(response, record, entry, chunksOf(read, 0, size));
      return;
    }
    if (faults.gzip) {
      const body = gzipSync(read(0, size));
      response.writeHead(200, { "content-encoding": "gzip", "content-type": "text/plain" });
      record.status = 200;
      if (request.method === "HEAD") return void response.end();
      await this.#send(response, record, entry, [body]);
      return;
    }

    let start = 0;
    let end = size;
    let status = 200;
    const headers: Record<string, string> = { "accept-ranges": "bytes", "content-type": "application/octet-stream" };
    if (faults.etag !== undefined) headers["etag"] = faults.etag;
    const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? "");
    if (range && !faults.ignoreRange) {
      start = Number(range[1]);
      end = range[2] === "" ? size : Math.min(size, Number(range[2]) + 1);
      if (start >= size || start >= end) {
        return this.#finish(response, record, 416, { "content-range": `bytes */${size}` }, "");
      }
      status = 206;
      headers["content-range"] = `bytes ${start}-${end - 1}/${size}`;
      if (entry.badRanges < (faults.badContentRangeTimes ?? 0)) {
        entry.badRanges += 1;
        // The last byte before the first: a range that cannot be.
        headers["content-range"] = `bytes ${end - 1}-${start}/${size}`;
        if (end - 1 === start) headers["content-range"] = `bytes ${start}-${end - 1}/${start}`;
      }
    }
    headers["content-length"] = String(end - start);
    if (faults.closeConnection !== undefined) {
      response.shouldKeepAlive = false;
      if (faults.closeConnection === "at-eof") {
        delete headers["content-length"];
        // Without a length Node would frame the body in chunks; this way only the close ends it.
        response.useChunkedEncodingByDefault = false;
      }
    }
    response.writeHead(status, headers);
    record.status = status;
    if (request.method === "HEAD") return void response.end();
    await this.#send(response, record, entry, chunksOf(read, start, end));
  }

  async #send(response: ServerResponse, record: RequestRecord, entry: Entry, chunks: Iterable<Buffer>): Promise<void> {
    const { faults } = entry;
    const dropAt =
      faults.dropAfterBytes !== undefined && entry.drops < (faults.dropTimes ?? 1) ? faults.dropAfterBytes : undefined;
    if (dropAt !== undefined) entry.drops += 1;
    const stallAt =
      faults.stallAfterBytes !== undefined && entry.stalls < (faults.stallTimes ?? 1)
        ? faults.stallAfterBytes
        : undefined;
    if (stallAt !== undefined) entry.stalls += 1;
    for (let chunk of chunks) {
      if (response.destroyed) return;
      if (stallAt !== undefined && record.bytesSent + chunk.length >= stallAt) {
        chunk = chunk.subarray(0, stallAt - record.bytesSent);
        await write(response, chunk);
        record.bytesSent += chunk.length;
        // Silence until the client gives up; the test server's close() ends it.
        return;
      }
      if (dropAt !== undefined && record.bytesSent + chunk.length >= dropAt) {
        chunk = chunk.subarray(0, dropAt - record.bytesSent);
        await write(response, chunk);
        record.bytesSent += chunk.length;
        record.dropped = true;
        // Let the bytes leave before the reset, so the client really has them.
        await sleep(20);
        response.socket?.destroy();
        return;
      }
      if (faults.trickle !== undefined) {
        for (let offset = 0; offset < chunk.length; offset += faults.trickle.bytes) {
          const piece = chunk.subarray(offset, offset + faults.trickle.bytes);
          await write(response, piece);
          record.bytesSent += piece.length;
          await sleep(faults.trickle.everyMs);
          if (response.destroyed) return;
        }
        continue;
      }
      if (faults.trickleBytesPer100Ms !== undefined) {
        for (let offset = 0; offset < chunk.length; offset += faults.trickleBytesPer100Ms) {
          const piece = chunk.subarray(offset, offset + faults.trickleBytesPer100Ms);
          await write(response, piece);
          record.bytesSent += piece.length;
          await sleep(100);
          if (response.destroyed) return;
        }
        continue;
      }
      await write(response, chunk);
      record.bytesSent += chunk.length;
    }
    response.end();
  }

  #finish(
    response: ServerResponse,
    record: RequestRecord,
    status: number,
    headers: Record<string, string>,
    body: string,
  ): void {
    record.status = status;
    response.writeHead(status, { "content-length": String(Buffer.byteLength(body)), ...headers });
    response.end(body);
  }
}

function* chunksOf(read: (start: number, end: number) => Buffer, start: number, end: number): Iterable<Buffer> {
  const step = 256 * 1024;
  for (let offset = start; offset < end; offset += step) yield read(offset, Math.min(end, offset + step));
}

/** Writes with backpressure; resolves early if the client went away. */
function write(response: ServerResponse, chunk: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (response.write(chunk)) return resolve();
    const done = () => {
      response.off("drain", done);
      response.off("close", done);
      resolve();
    };
    response.once("drain", done);
    response.once("close", done);
  });
}
