/** Byte counts: their total, and human units for messages and progress lines. */
const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** 1536 → "1.5 KiB". */
export function humanBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** The sum of `sizes`, or undefined when any of them is not known. */
export function totalBytes(sizes: Iterable<number | undefined>): number | undefined {
  let total = 0;
  for (const size of sizes) {
    if (size === undefined) return undefined;
    total += size;
  }
  return total;
}
