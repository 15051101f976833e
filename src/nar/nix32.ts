/**
 * Nix's own base-32 ("nix32"), the form `nix-hash --base32`, `nix-prefetch-url` and store
 * paths use. It is not RFC 4648: the alphabet drops e, o, u and t (to avoid spelling words),
 * and the digits are taken from the *end* of the hash, least significant bits first, so the
 * string reads as the hash's bits in reverse. Port of Nix's `printHash32` / `parseHash32`
 * (src/libutil/hash.cc).
 */
export const NIX32_ALPHABET = "0123456789abcdfghijklmnpqrsvwxyz";

/** Length of the nix32 form of `byteLength` bytes: ceil(bits / 5). */
function nix32Length(byteLength: number): number {
  return Math.floor((byteLength * 8 - 1) / 5) + 1;
}

export function toNix32(hash: Uint8Array): string {
  const length = nix32Length(hash.length);
  let out = "";
  for (let n = length - 1; n >= 0; n--) {
    const bit = n * 5;
    const byteIndex = Math.floor(bit / 8);
    const shift = bit % 8;
    const low = (hash[byteIndex] ?? 0) >> shift;
    const high = byteIndex + 1 < hash.length ? (hash[byteIndex + 1] ?? 0) << (8 - shift) : 0;
    out += NIX32_ALPHABET[(low | high) & 0x1f];
  }
  return out;
}

/**
 * Decodes nix32 into `byteLength` bytes. Throws a plain Error on a bad character, a wrong
 * length, or set bits beyond the hash (Nix rejects those too, so a hash has one spelling).
 */
export function fromNix32(text: string, byteLength = 32): Buffer {
  if (text.length !== nix32Length(byteLength)) {
    throw new Error(`a ${byteLength}-byte nix32 hash has ${nix32Length(byteLength)} characters, got ${text.length}`);
  }
  const hash = Buffer.alloc(byteLength);
  for (let n = 0; n < text.length; n++) {
    const char = text[text.length - 1 - n] as string;
    const digit = NIX32_ALPHABET.indexOf(char);
    if (digit < 0) throw new Error(`invalid nix32 character '${char}'`);
    const bit = n * 5;
    const byteIndex = Math.floor(bit / 8);
    const shift = bit % 8;
    hash[byteIndex] = (hash[byteIndex] ?? 0) | ((digit << shift) & 0xff);
    const carry = digit >> (8 - shift);
    if (byteIndex + 1 < byteLength) {
      hash[byteIndex + 1] = (hash[byteIndex + 1] ?? 0) | carry;
    } else if (carry !== 0) {
      throw new Error(`nix32 hash '${text}' has bits set beyond ${byteLength} bytes`);
    }
  }
  return hash;
}
