/**
 * Strings taken from a scanned file end up in terminal output and JSON reports. quote() makes
 * them safe to print: bounded length, JSON-escaped control characters, and escaped bidi and
 * zero-width characters that could make a name look like another.
 */
const INVISIBLE = /[\u0080-\u009f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

export function quote(value: string, maxLength = 120): string {
  const cut = value.length > maxLength ? `${value.slice(0, maxLength)}…` : value;
  return JSON.stringify(cut).replace(INVISIBLE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Latin-1 decoding: one code unit per byte, as CPython decodes pickle text-line arguments. */
export function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("latin1");
}

const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

/** Strict UTF-8 decoding; undefined when the bytes are not valid UTF-8. */
export function utf8OrUndefined(bytes: Uint8Array): string | undefined {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Lossy UTF-8 decoding for messages and sniffing only. */
export function utf8Lossy(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("utf8");
}

export function startsWithBytes(bytes: Uint8Array, prefix: readonly number[] | Uint8Array, at = 0): boolean {
  if (bytes.length < at + prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false;
  return true;
}

export function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (ch) => ch.charCodeAt(0));
}
