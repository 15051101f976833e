/**
 * JSON with object keys sorted (recursively), two-space indented, newline-terminated:
 * the one serialisation used for everything the fetcher writes into an output, so
 * equal content always gives equal bytes (and an equal NAR hash).
 */
export function canonicalJson(value: unknown): string {
  return `${JSON.stringify(sortKeys(value), null, 2)}\n`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.keys(value)
        .sort(compareBytes)
        .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

/** Orders strings by their UTF-8 bytes, as Nix orders directory entries. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
