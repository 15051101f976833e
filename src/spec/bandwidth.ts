import { UserError } from "../errors/user-error.js";

const units: Record<string, number> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/**
 * Parses a bandwidth limit the way curl's --limit-rate does: a number of bytes per
 * second with an optional K, M or G suffix (powers of 1024, case-insensitive), e.g.
 * "50M". A trailing "/s" or "B" is tolerated because people write it.
 */
export function parseBandwidthLimit(text: string, where: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?(?:\/s)?\s*$/i.exec(text);
  const amount = match ? Number(match[1]) : NaN;
  const factor = match ? units[(match[2] ?? "").toUpperCase()] : undefined;
  if (!match || factor === undefined || !(amount > 0)) {
    throw new UserError({
      what: `${where} must be a rate like "50M" (bytes per second, K/M/G suffixes as in curl --limit-rate), got ${JSON.stringify(text)}`,
    });
  }
  return Math.floor(amount * factor);
}
