import { unzeroed } from "./unzeroed.js";

/**
 * Xet's ByteGrouping4 transform (xet-core spec/xorb.md): byte k of every 4-byte group goes to
 * plane k, planes concatenated, so the similar high bytes of floats sit together and LZ4
 * finds them. With n bytes, plane k holds floor(n/4) bytes plus one if k < n % 4.
 */

function planeStarts(length: number): [number, number, number, number] {
  const base = Math.floor(length / 4);
  const rest = length % 4;
  const second = base + (rest >= 1 ? 1 : 0);
  const third = second + base + (rest >= 2 ? 1 : 0);
  const fourth = third + base + (rest >= 3 ? 1 : 0);
  return [0, second, third, fourth];
}

export function splitBytePlanes(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length);
  const starts = planeStarts(data.length);
  for (let plane = 0; plane < 4; plane++) {
    for (let from = plane, to = starts[plane]!; from < data.length; from += 4) out[to++] = data[from]!;
  }
  return out;
}

/** Whether a Uint32Array puts its low byte first, as on every platform Node and Nix run on but s390x. */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** The bytes of `planes` in their groups again, into `out` (as long as `planes`, every byte written). */
export function joinBytePlanes(planes: Uint8Array, out: Uint8Array = unzeroed(planes.length)): Uint8Array {
  if (out.length !== planes.length) {
    throw new RangeError(`joinBytePlanes: ${out.length} bytes of output for ${planes.length}`);
  }
  const starts = planeStarts(planes.length);
  if (!LITTLE_ENDIAN) {
    for (let plane = 0; plane < 4; plane++) {
      for (let to = plane, from = starts[plane]!; to < planes.length; to += 4) out[to] = planes[from++]!;
    }
    return out;
  }
  // Four groups at a time: one 32-bit read from each plane, four 32-bit stores, each word
  // gathering byte j of the four reads. 1.4x as fast as a group at a time, which was 2-2.5x
  // the byte loop, and this runs over every byte of a byte-grouped chunk (docs/bench.md,
  // "Sixth round").
  const groups = planes.length >>> 2;
  const [, second, third, fourth] = starts;
  const words = new Uint32Array(out.buffer, out.byteOffset, groups);
  const read = new DataView(planes.buffer, planes.byteOffset, planes.byteLength);
  const whole = groups - (groups % 4);
  for (let group = 0; group < whole; group += 4) {
    const a = read.getUint32(group, true);
    const b = read.getUint32(second + group, true);
    const c = read.getUint32(third + group, true);
    const d = read.getUint32(fourth + group, true);
    words[group] = (a & 0xff) | ((b & 0xff) << 8) | ((c & 0xff) << 16) | (d << 24);
    words[group + 1] = ((a >>> 8) & 0xff) | (b & 0xff00) | ((c & 0xff00) << 8) | ((d & 0xff00) << 16);
    words[group + 2] = ((a >>> 16) & 0xff) | ((b >>> 8) & 0xff00) | (c & 0xff0000) | ((d & 0xff0000) << 8);
    words[group + 3] = (a >>> 24) | ((b >>> 16) & 0xff00) | ((c >>> 8) & 0xff0000) | (d & 0xff000000);
  }
  for (let group = whole; group < groups; group++) {
    words[group] =
      planes[group]! |
      (planes[second + group]! << 8) |
      (planes[third + group]! << 16) |
      (planes[fourth + group]! << 24);
  }
  // The last bytes, fewer than four: one more in each of the first planes.
  for (let plane = 0; plane < planes.length % 4; plane++) out[4 * groups + plane] = planes[starts[plane]! + groups]!;
  return out;
}
