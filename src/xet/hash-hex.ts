/**
 * A Xet hash as text, and the check of that text: what the fetcher needs (tree listings,
 * reconstruction replies) without BLAKE3. Kept apart from ./hash.ts, which builds three
 * BLAKE3 hashers as it loads (WebAssembly decoded and compiled, awaited at the top level):
 * only `serve` computes Xet hashes, and every fetch loaded them for nothing (docs/bench.md,
 * "Fourth round").
 */

export const HASH_BYTES = 32;

const HASH_HEX = /^[0-9a-f]{64}$/;

/**
 * The string form used in URLs, tree listings and `X-Xet-Hash` (spec/api.md): each 8-byte
 * group is read as a little-endian u64 and printed as 16 hex digits, so the bytes of each
 * group appear reversed compared to a plain hex dump.
 */
export function hashToHex(hash: Uint8Array): string {
  if (hash.length !== HASH_BYTES) throw new RangeError(`a Xet hash has ${HASH_BYTES} bytes, got ${hash.length}`);
  let out = "";
  for (let group = 0; group < HASH_BYTES; group += 8) {
    for (let index = group + 7; index >= group; index--) out += hash[index]!.toString(16).padStart(2, "0");
  }
  return out;
}

/** The inverse of hashToHex; throws on anything but 64 lowercase hex digits. */
export function hexToHash(hex: string): Uint8Array {
  if (!isXetHashHex(hex)) throw new RangeError(`not a Xet hash (64 lowercase hex digits): ${JSON.stringify(hex)}`);
  const hash = new Uint8Array(HASH_BYTES);
  for (let group = 0; group < HASH_BYTES; group += 8) {
    for (let offset = 0; offset < 8; offset++) {
      hash[group + 7 - offset] = Number.parseInt(hex.slice((group + offset) * 2, (group + offset) * 2 + 2), 16);
    }
  }
  return hash;
}

export function isXetHashHex(value: unknown): value is string {
  return typeof value === "string" && HASH_HEX.test(value);
}
