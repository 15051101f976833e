/**
 * XXH32, as the LZ4 frame format uses it for its header, block and content checksums
 * (lz4 doc/lz4_Frame_format.md). Small enough to keep here rather than add a dependency
 * for 40 lines; checked against Debian's lz4 CLI, which refuses a frame whose header
 * checksum is wrong.
 */

const PRIME1 = 0x9e3779b1;
const PRIME2 = 0x85ebca77;
const PRIME3 = 0xc2b2ae3d;
const PRIME4 = 0x27d4eb2f;
const PRIME5 = 0x165667b1;

const rotl = (value: number, bits: number) => ((value << bits) | (value >>> (32 - bits))) >>> 0;
const readU32 = (data: Uint8Array, at: number) =>
  (data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16) | (data[at + 3]! << 24)) >>> 0;
const round = (accumulator: number, lane: number) =>
  Math.imul(rotl((accumulator + Math.imul(lane, PRIME2)) >>> 0, 13), PRIME1) >>> 0;

export function xxhash32(data: Uint8Array, seed = 0): number {
  const length = data.length;
  let offset = 0;
  let hash: number;
  if (length >= 16) {
    let v1 = (seed + PRIME1 + PRIME2) >>> 0;
    let v2 = (seed + PRIME2) >>> 0;
    let v3 = seed >>> 0;
    let v4 = (seed - PRIME1) >>> 0;
    for (; offset + 16 <= length; offset += 16) {
      v1 = round(v1, readU32(data, offset));
      v2 = round(v2, readU32(data, offset + 4));
      v3 = round(v3, readU32(data, offset + 8));
      v4 = round(v4, readU32(data, offset + 12));
    }
    hash = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) >>> 0;
  } else {
    hash = (seed + PRIME5) >>> 0;
  }
  hash = (hash + length) >>> 0;
  for (; offset + 4 <= length; offset += 4) {
    hash = Math.imul(rotl((hash + Math.imul(readU32(data, offset), PRIME3)) >>> 0, 17), PRIME4) >>> 0;
  }
  for (; offset < length; offset++) {
    hash = Math.imul(rotl((hash + Math.imul(data[offset]!, PRIME5)) >>> 0, 11), PRIME1) >>> 0;
  }
  hash = Math.imul(hash ^ (hash >>> 15), PRIME2) >>> 0;
  hash = Math.imul(hash ^ (hash >>> 13), PRIME3) >>> 0;
  return (hash ^ (hash >>> 16)) >>> 0;
}
