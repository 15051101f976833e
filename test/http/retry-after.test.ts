import { describe, expect, it } from "vitest";
import { parseRetryAfter, rateLimitResetMs, retryAfterMsFromHeaders } from "../../src/http/retry-after.js";

describe("Retry-After and RateLimit parsing", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");

  it("reads delta-seconds and HTTP-dates", () => {
    expect(parseRetryAfter("5", now)).toBe(5000);
    expect(parseRetryAfter(" 0 ", now)).toBe(0);
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Wed, 31 Dec 2025 23:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter("-3", now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it("reads the IETF RateLimit field: the longest reset among exhausted policies", () => {
    expect(rateLimitResetMs('"api";r=0;t=55')).toBe(55_000);
    expect(rateLimitResetMs('"api";r=12;t=55')).toBeUndefined();
    expect(rateLimitResetMs('"api";r=0;t=10, "resolvers";r=0;t=40')).toBe(40_000);
    expect(rateLimitResetMs("garbage")).toBeUndefined();
  });

  it("prefers RateLimit (plus a second) over Retry-After", () => {
    const headers: Record<string, string> = { ratelimit: '"api";r=0;t=3', "retry-after": "60" };
    expect(retryAfterMsFromHeaders((name) => headers[name], now)).toBe(4000);
    const older: Record<string, string> = { "ratelimit-remaining": "0", "ratelimit-reset": "7" };
    expect(retryAfterMsFromHeaders((name) => older[name], now)).toBe(8000);
    const plain: Record<string, string> = { "retry-after": "2" };
    expect(retryAfterMsFromHeaders((name) => plain[name], now)).toBe(2000);
  });
});
