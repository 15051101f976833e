/**
 * How long a server asks us to wait before trying again.
 *
 * Sources, in order of precedence:
 * - `RateLimit: "<policy>";r=<remaining>;t=<seconds>` (IETF httpapi-ratelimit-headers draft, the
 *   form the Hugging Face Hub sends): when `r` is 0 the quota resets in `t` seconds.
 * - `RateLimit-Remaining: 0` + `RateLimit-Reset: <seconds>` (the older draft's separate headers).
 * - `Retry-After: <delta-seconds>` or `Retry-After: <HTTP-date>` (RFC 9110 §10.2.3).
 *
 * huggingface_hub waits one second more than the reset time so the new window has surely
 * opened; we do the same for the RateLimit forms.
 */

type HeaderLookup = (name: string) => string | undefined;

const RESET_MARGIN_MS = 1_000;

export function retryAfterMsFromHeaders(header: HeaderLookup, now: number = Date.now()): number | undefined {
  const fromRateLimit = rateLimitResetMs(header("ratelimit"));
  if (fromRateLimit !== undefined) return fromRateLimit + RESET_MARGIN_MS;

  if (header("ratelimit-remaining")?.trim() === "0") {
    const seconds = parseDeltaSeconds(header("ratelimit-reset"));
    if (seconds !== undefined) return seconds * 1000 + RESET_MARGIN_MS;
  }

  return parseRetryAfter(header("retry-after"), now);
}

/** `Retry-After` value: delta-seconds or an HTTP-date; undefined when absent or malformed. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const seconds = parseDeltaSeconds(value);
  if (seconds !== undefined) return seconds * 1000;
  // Every HTTP-date form (IMF-fixdate, RFC 850, asctime) starts with a day name; Date.parse
  // alone would also accept "-3" as the year -3.
  const text = value.trim();
  if (!/^[A-Za-z]{3}/.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/**
 * The structured-field list `"api";r=0;t=55, "pages";r=10;t=3`: the longest reset among the
 * policies that are exhausted (r=0). Undefined when no policy is exhausted.
 */
export function rateLimitResetMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  let longest: number | undefined;
  for (const item of value.split(",")) {
    const parameters = new Map<string, string>();
    for (const part of item.split(";").slice(1)) {
      const [key, raw] = part.split("=", 2);
      if (key !== undefined && raw !== undefined) parameters.set(key.trim().toLowerCase(), raw.trim());
    }
    if (parameters.get("r") !== "0") continue;
    const seconds = parseDeltaSeconds(parameters.get("t"));
    if (seconds !== undefined) longest = Math.max(longest ?? 0, seconds * 1000);
  }
  return longest;
}

function parseDeltaSeconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return /^\d{1,10}$/.test(trimmed) ? Number(trimmed) : undefined;
}
