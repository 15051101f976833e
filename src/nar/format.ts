/**
 * The framing of a Nix archive (NAR), as `nix-store --dump` writes it. Every token is a
 * "string": its byte length as a 64-bit little-endian integer, the bytes, then zero padding
 * to a multiple of 8. File contents are framed the same way, only streamed.
 *
 *   nar       = str("nix-archive-1") node
 *   node      = str("(") str("type") (regular | symlink | directory) str(")")
 *   regular   = str("regular") [str("executable") str("")] str("contents") str(<bytes>)
 *   symlink   = str("symlink") str("target") str(<target bytes>)
 *   directory = str("directory") { str("entry") str("(") str("name") str(<name>) str("node") node str(")") }
 *
 * Directory entries are sorted by the raw bytes of their names (Nix keeps them in a
 * std::map<std::string>, which compares like memcmp).
 */

/** The length prefix of a string or of file contents. */
export function narLength(length: number): Buffer {
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(length));
  return prefix;
}

const ZEROS = Buffer.alloc(8);

/** The zero bytes that follow `length` bytes of content to reach an 8-byte boundary. */
export function narPadding(length: number): Buffer {
  return ZEROS.subarray(0, (8 - (length % 8)) % 8);
}

/** One framed string: length, bytes, padding. */
export function narString(value: string | Uint8Array): Buffer {
  const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
  return Buffer.concat([narLength(bytes.length), bytes, narPadding(bytes.length)]);
}

/** Several framed strings in one buffer, so the dumper hands the sink fewer, larger writes. */
export function narStrings(...values: readonly (string | Uint8Array)[]): Buffer {
  return Buffer.concat(values.map(narString));
}

export const NAR_MAGIC = "nix-archive-1";
