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

export function joinBytePlanes(planes: Uint8Array): Uint8Array {
  const out = new Uint8Array(planes.length);
  const starts = planeStarts(planes.length);
  for (let plane = 0; plane < 4; plane++) {
    for (let to = plane, from = starts[plane]!; to < planes.length; to += 4) out[to] = planes[from++]!;
  }
  return out;
}
