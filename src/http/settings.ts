import type { LowSpeedLimit } from "../transfer/low-speed.js";

/**
 * Network behaviour shared by every request the fetcher makes, resolved from the
 * spec's `network` block (seconds there, milliseconds here).
 */
export interface HttpSettings {
  /** Time allowed to open a TCP/TLS connection. */
  readonly connectTimeoutMs: number;
  /** Longest silence allowed while waiting for headers or body bytes. */
  readonly readTimeoutMs: number;
  /** Attempts per request, the first included (>= 1). */
  readonly maxAttempts: number;
  /** First back-off delay; doubles per attempt up to maxDelayMs. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Explicit proxies; when absent the standard http_proxy/https_proxy/no_proxy variables apply. */
  readonly proxy: { readonly http?: string; readonly https?: string; readonly noProxy?: string } | null;
  /** Shared cap on download throughput across all transfers, bytes per second. */
  readonly bandwidthLimitBytesPerSec: number | null;
  /**
   * The low-speed limit (src/transfer/low-speed.ts): less than this many bytes per second
   * on one connection, averaged over lowSpeedTimeMs of waiting, cuts it; 0 turns it off.
   */
  readonly lowSpeedLimitBytesPerSec: number;
  readonly lowSpeedTimeMs: number;
  /** Simultaneous transfers (files and ranged parts together). */
  readonly concurrency: number;
  /** User-Agent sent with every request. */
  readonly userAgent: string;
}

export const defaultHttpSettings: HttpSettings = {
  connectTimeoutMs: 30_000,
  readTimeoutMs: 300_000,
  maxAttempts: 5,
  baseDelayMs: 1_000,
  maxDelayMs: 30_000,
  proxy: null,
  bandwidthLimitBytesPerSec: null,
  lowSpeedLimitBytesPerSec: 1024,
  lowSpeedTimeMs: 60_000,
  concurrency: 16,
  userAgent: "nix-model-repo",
};

/** The low-speed limit of these settings, as src/transfer/low-speed.ts takes it. */
export function lowSpeedLimitOf(settings: HttpSettings): LowSpeedLimit {
  return { limitBytesPerSec: settings.lowSpeedLimitBytesPerSec, timeMs: settings.lowSpeedTimeMs };
}

/**
 * A credential and the only hosts it may be sent to. The HTTP client attaches it to
 * requests whose URL host (with port) is in `hosts`, and never after a redirect to
 * any other host: pre-signed CDN URLs need no token, and a token must not travel.
 */
export interface Credential {
  /** Full Authorization header value, e.g. "Bearer hf_…" or "Basic …". */
  readonly authorization: string;
  /** `URL.host` values (hostname[:port]) allowed to receive it. */
  readonly hosts: readonly string[];
}
