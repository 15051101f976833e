import { renderHubError, type HubError } from "./hub-errors.js";

/**
 * What a route handler decides, before anything is written: status, headers and a body that
 * is either a small buffer (JSON, pointers, errors) or a slice of a file on disk (streamed by
 * send-answer.ts, never read whole). Handlers stay free of sockets and fault handling.
 */

export interface FileSlice {
  readonly kind: "file";
  /** Absolute real path recorded by the repo loader. */
  readonly path: string;
  /** The size the loader saw; the file is refused if it changed since. */
  readonly expectedSize: number;
  readonly start: number;
  /** Inclusive; start - 1 for an empty slice. */
  readonly end: number;
}

export interface BufferBody {
  readonly kind: "buffer";
  readonly data: Buffer;
}

/** Several bodies one after another (a multipart/byteranges answer: part headers and file slices). */
export interface PartsBody {
  readonly kind: "parts";
  readonly parts: ReadonlyArray<FileSlice | BufferBody>;
}

export type AnswerBody = FileSlice | BufferBody | PartsBody;

export interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: AnswerBody;
}

export function bufferAnswer(status: number, headers: Record<string, string>, data: Buffer): Answer {
  return { status, headers: { ...headers, "Content-Length": String(data.length) }, body: { kind: "buffer", data } };
}

export function jsonAnswer(value: unknown, headers: Record<string, string> = {}, status = 200): Answer {
  return bufferAnswer(
    status,
    { "Content-Type": "application/json; charset=utf-8", ...headers },
    Buffer.from(JSON.stringify(value)),
  );
}

export function errorAnswer(error: HubError): Answer {
  const { status, headers, body } = renderHubError(error);
  return bufferAnswer(status, headers, body);
}
