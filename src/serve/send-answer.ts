import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { createGzip } from "node:zlib";
import type { Answer, AnswerBody, FileSlice, PartsBody } from "./answer.js";
import type { Fault } from "./faults.js";

/**
 * Writes an Answer to the socket, applying the body-level parts of a Fault. File bodies are
 * streamed with backpressure from a descriptor opened with O_NOFOLLOW (the loader checked
 * the path; this keeps a blob swapped for a symlink afterwards from being followed).
 */

const READ_CHUNK = 1024 * 1024;

/** Thrown before any byte is written, so the caller can still answer 500. */
export class BodyUnavailableError extends Error {}

async function openSlice(body: AnswerBody): Promise<FileHandle | undefined> {
  if (body.kind !== "file") return undefined;
  return openFile(body);
}

async function openFile(body: FileSlice): Promise<FileHandle> {
  const handle = await open(body.path, constants.O_RDONLY | constants.O_NOFOLLOW).catch((error: unknown) => {
    throw new BodyUnavailableError(
      `cannot open ${body.path}: ${error instanceof Error ? error.message : String(error)}`,
    );
  });
  const { size } = await handle.stat();
  if (size !== body.expectedSize) {
    await handle.close();
    throw new BodyUnavailableError(`${body.path} changed size since it was loaded (${body.expectedSize} → ${size})`);
  }
  return handle;
}

/** Each part in turn; a file part is opened (with the same checks) only when its turn comes. */
async function* partsSource(body: PartsBody): AsyncIterable<Buffer> {
  for (const part of body.parts) {
    if (part.kind === "buffer") {
      yield part.data;
      continue;
    }
    const handle = await openFile(part);
    try {
      yield* contentSource(part, handle);
    } finally {
      await handle.close();
    }
  }
}

function contentSource(body: AnswerBody, handle: FileHandle | undefined): AsyncIterable<Buffer> {
  if (body.kind === "buffer") return Readable.from([body.data]);
  if (body.kind === "parts") return partsSource(body);
  if (body.end < body.start) return Readable.from([]);
  // autoClose off: sendAnswer closes the handle itself, also when it stops reading early.
  return handle!.createReadStream({ start: body.start, end: body.end, highWaterMark: READ_CHUNK, autoClose: false });
}

/** Flips the byte at absolute content offset `at`; `base` is the content offset of the first chunk. */
async function* corrupting(source: AsyncIterable<Buffer>, base: number, at: number): AsyncIterable<Buffer> {
  let offset = base;
  for await (const chunk of source) {
    if (at >= offset && at < offset + chunk.length) {
      const copy = Buffer.from(chunk);
      copy[at - offset] = copy[at - offset]! ^ 0xff;
      yield copy;
    } else {
      yield chunk;
    }
    offset += chunk.length;
  }
}

/** The same bytes, `bytes` at a time every `everyMs`; stops when the client goes away. */
async function* trickling(
  source: AsyncIterable<Buffer>,
  { bytes, everyMs }: { readonly bytes: number; readonly everyMs: number },
  res: ServerResponse,
): AsyncIterable<Buffer> {
  let first = true;
  for await (const chunk of source) {
    for (let at = 0; at < chunk.length; at += bytes) {
      if (!first) await sleep(everyMs);
      if (res.destroyed) return;
      first = false;
      yield chunk.subarray(at, at + bytes);
    }
  }
}

function gzipped(source: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  const gzip = createGzip();
  // Errors surface through the gzip stream the caller iterates.
  pipeline(Readable.from(source), gzip).catch(() => undefined);
  return gzip;
}

/** Resolves true once the chunk is queued, false if the client went away first. */
function write(res: ServerResponse, chunk: Buffer): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  if (res.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const finish = (ok: boolean) => {
      res.off("drain", onDrain);
      res.off("close", onClose);
      resolve(ok);
    };
    const onDrain = () => finish(true);
    const onClose = () => finish(false);
    res.on("drain", onDrain);
    res.on("close", onClose);
  });
}

/** Resolves once the bytes so far (headers included) have been handed to the kernel. */
function flushed(res: ServerResponse, chunk: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (chunk.length > 0) {
      res.write(chunk, () => resolve());
    } else {
      res.flushHeaders();
      const socket = res.socket;
      if (!socket) resolve();
      else socket.write(Buffer.alloc(0), () => resolve());
    }
  });
}

function acceptsGzip(req: IncomingMessage): boolean {
  const accepted = req.headers["accept-encoding"] ?? "";
  return /(^|,)\s*gzip\s*(;\s*q=(?!0(\.0*)?\s*(,|$))[\d.]+)?\s*(,|$)/i.test(accepted);
}

function applyHeaderFault(headers: Record<string, string>, overrides: Fault["headers"]): void {
  if (!overrides) return;
  for (const [name, value] of Object.entries(overrides)) {
    for (const existing of Object.keys(headers)) {
      if (existing.toLowerCase() === name.toLowerCase()) delete headers[existing];
    }
    if (value !== null) headers[name] = value;
  }
}

export async function sendAnswer(
  req: IncomingMessage,
  res: ServerResponse,
  answer: Answer,
  fault: Fault | undefined,
): Promise<void> {
  const headers: Record<string, string> = { ...answer.headers };
  const body = answer.body;
  const handle = body ? await openSlice(body) : undefined;
  try {
    const compress =
      fault?.gzip === true &&
      body !== undefined &&
      answer.status === 200 &&
      !("Content-Range" in headers) &&
      acceptsGzip(req);
    if (compress) {
      delete headers["Content-Length"];
      headers["Content-Encoding"] = "gzip";
    }
    applyHeaderFault(headers, fault?.headers);
    res.writeHead(answer.status, headers);
    if (req.method === "HEAD" || body === undefined) {
      res.end();
      return;
    }

    let stream = contentSource(body, handle);
    if (fault?.corruptByteAt !== undefined)
      stream = corrupting(stream, body.kind === "file" ? body.start : 0, fault.corruptByteAt);
    if (compress) stream = gzipped(stream);
    if (fault?.trickle !== undefined) stream = trickling(stream, fault.trickle, res);

    // A cut at exactly the body's length still closes the connection after the last byte; a
    // cut beyond the body's length never triggers.
    const cutAt = fault?.dropAfterBytes ?? fault?.stallAfterBytes;
    let sent = 0;
    for await (const chunk of stream) {
      if (cutAt !== undefined && sent + chunk.length >= cutAt) {
        await flushed(res, chunk.subarray(0, cutAt - sent));
        if (fault?.dropAfterBytes !== undefined) {
          res.socket?.destroy();
        } else {
          await new Promise((resolve) => res.once("close", resolve));
        }
        return;
      }
      if (!(await write(res, chunk))) return; // client went away; leaving the loop closes the file
      sent += chunk.length;
    }
    res.end();
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
