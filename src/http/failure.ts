import type { Readable } from "node:stream";
import { TransferFailure } from "../errors/failures.js";
import { http } from "../util/builtins-on-demand.js";
import { displayUrl, redact } from "../util/secrets.js";
import { decodeBody, readExcerpt } from "./body.js";
import type { Exchange } from "./redirects.js";
import { retryAfterMsFromHeaders } from "./retry-after.js";

/**
 * Turning HTTP responses and network errors into classified TransferFailures, the one
 * error type the retry policy understands.
 */

/** Statuses that can change on their own: timeouts, rate limits, overloaded or restarting servers. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * The longest server-requested wait we honour. A server asking for more (an hourly quota)
 * gets a clear failure instead of a build that hangs silently for an hour.
 */
const MAX_RETRY_AFTER_MS = 5 * 60_000;

/** Response headers kept on a failure for adapters to explain it; cookies are dropped. */
export type ResponseHeaders = Readonly<Record<string, string>>;

export function normaliseHeaders(raw: Readonly<Record<string, string | string[] | undefined>>): ResponseHeaders {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    const key = name.toLowerCase();
    if (value === undefined || key === "set-cookie") continue;
    headers[key] = Array.isArray(value) ? value.join(", ") : value;
  }
  return headers;
}

export function statusText(status: number): string {
  const reason = http().STATUS_CODES[status];
  return reason ? `HTTP ${status} ${reason}` : `HTTP ${status}`;
}

/**
 * The server's own explanation: the Hub's X-Error-Message, else a JSON `error` /
 * `error_description` / `message` field, else a one-line excerpt of a text body.
 */
function serverMessageFrom(headers: ResponseHeaders, bodyText: string | undefined): string | undefined {
  const fromHeader = headers["x-error-message"];
  if (fromHeader) return redact(fromHeader);
  if (!bodyText) return undefined;
  const trimmed = bodyText.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      const message = messageFromJson(parsed);
      if (message) return redact(oneLine(message));
    } catch {
      // Not JSON after all: fall through to the text excerpt.
    }
  }
  if (/^\s*</.test(trimmed)) return undefined; // An HTML error page says nothing useful in one line.
  return trimmed === "" ? undefined : redact(oneLine(trimmed));
}

function messageFromJson(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as Record<string, unknown>;
  for (const key of ["error_description", "error", "message", "detail"]) {
    const field = record[key];
    if (typeof field === "string" && field !== "") return field;
    if (Array.isArray(field) && field.every((item) => typeof item === "string")) return field.join("; ");
  }
  return undefined;
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 300 ? `${flat.slice(0, 300)}…` : flat;
}

/**
 * The failure of a response the request did not expect: its status, and the server's own
 * explanation from the first bytes of its body (which is then released).
 */
export async function failureOfUnexpected(exchange: Exchange, encoding: string | undefined): Promise<TransferFailure> {
  let excerpt: string | undefined;
  try {
    excerpt = await readExcerpt(decodeBody(exchange.body as unknown as Readable, encoding, exchange.url));
  } catch {
    // An encoding we cannot decode: the status tells the story alone.
    excerpt = undefined;
  }
  return failureFromResponse(exchange.status, exchange.headers, exchange.url, excerpt);
}

function failureFromResponse(
  status: number,
  rawHeaders: Readonly<Record<string, string | string[] | undefined>>,
  url: URL,
  bodyText?: string,
): TransferFailure {
  const headers = normaliseHeaders(rawHeaders);
  const serverMessage = serverMessageFrom(headers, bodyText);
  const errorCode = headers["x-error-code"];
  const shown = displayUrl(url);
  let message = `${statusText(status)} from ${shown}`;
  if (errorCode || serverMessage) message += ` (${[errorCode, serverMessage].filter(Boolean).join(": ")})`;

  let retryable = RETRYABLE_STATUSES.has(status);
  let retryAfterMs = retryable ? retryAfterMsFromHeaders((name) => headers[name]) : undefined;
  if (retryAfterMs !== undefined && retryAfterMs > MAX_RETRY_AFTER_MS) {
    message +=
      `; the server asks to wait ${Math.ceil(retryAfterMs / 1000)} s before trying again, longer than the ` +
      `${MAX_RETRY_AFTER_MS / 1000} s this fetcher waits: try again later`;
    retryable = false;
    retryAfterMs = undefined;
  }
  return new TransferFailure(redact(message), {
    retryable,
    status,
    url: shown,
    headers,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    ...(serverMessage === undefined ? {} : { serverMessage }),
  });
}
