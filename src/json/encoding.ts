import { isUtf8 } from "node:buffer";
import { TextDecoder } from "node:util";

/**
 * Bytes as CPython's json.loads(bytes) reads them. Python guesses the encoding from the first
 * bytes (json.detect_encoding): a UTF-8 BOM is skipped, UTF-16 and UTF-32 are recognised with or
 * without a BOM. A document in UTF-16 is as loadable to Python as one in UTF-8, so a reader that
 * judges what Python would load must decode it the same way.
 */

export type JsonEncoding = "utf-8" | "utf-8-sig" | "utf-16le" | "utf-16be" | "utf-32le" | "utf-32be";

/** json.detect_encoding: `head` is the first 4 bytes (or all of a shorter input). */
export function detectJsonEncoding(head: Uint8Array): JsonEncoding {
  const [b0, b1, b2, b3] = head;
  if (b0 === 0x00 && b1 === 0x00 && b2 === 0xfe && b3 === 0xff) return "utf-32be";
  if (b0 === 0xff && b1 === 0xfe && b2 === 0x00 && b3 === 0x00) return "utf-32le";
  if (b0 === 0xfe && b1 === 0xff) return "utf-16be";
  if (b0 === 0xff && b1 === 0xfe) return "utf-16le";
  if (b0 === 0xef && b1 === 0xbb && b2 === 0xbf) return "utf-8-sig";
  if (head.length >= 4) {
    if (b0 === 0) return b1 ? "utf-16be" : "utf-32be";
    if (b1 === 0) return b2 || b3 ? "utf-16le" : "utf-32le";
  } else if (head.length === 2) {
    if (b0 === 0) return "utf-16be";
    if (b1 === 0) return "utf-16le";
  }
  return "utf-8";
}

/**
 * Turns chunks in `encoding` into UTF-8 chunks for the tokenizer, dropping a byte-order mark.
 * Undecodable sequences become U+FFFD (Python refuses some of them; a reader judging content
 * may read more than Python, never less).
 */
export class Utf8Transcoder {
  private skip: number;
  private readonly utf16: TextDecoder | undefined;
  private readonly utf32LittleEndian: boolean;
  private pending = new Uint8Array(0);
  private atStart = true;

  constructor(private readonly encoding: JsonEncoding) {
    this.skip = encoding === "utf-8-sig" ? 3 : 0;
    this.utf16 = encoding.startsWith("utf-16") ? new TextDecoder(encoding) : undefined;
    this.utf32LittleEndian = encoding === "utf-32le";
  }

  push(chunk: Uint8Array): Uint8Array {
    if (this.skip > 0) {
      const skipped = Math.min(this.skip, chunk.length);
      this.skip -= skipped;
      chunk = chunk.subarray(skipped);
    }
    if (this.encoding === "utf-8" || this.encoding === "utf-8-sig") return chunk;
    if (this.utf16) return Buffer.from(this.utf16.decode(chunk, { stream: true }), "utf8");
    return Buffer.from(this.utf32(chunk), "utf8");
  }

  end(): Uint8Array {
    if (this.utf16) return Buffer.from(this.utf16.decode(), "utf8");
    return Buffer.from(this.pending.length > 0 ? "\ufffd" : "", "utf8");
  }

  private utf32(chunk: Uint8Array): string {
    const bytes = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    const whole = bytes.length - (bytes.length % 4);
    const view = new DataView(bytes.buffer, bytes.byteOffset, whole);
    let text = "";
    for (let at = 0; at < whole; at += 4) {
      const code = view.getUint32(at, this.utf32LittleEndian);
      const isBom = code === 0xfeff && this.atStart;
      this.atStart = false;
      if (!isBom) text += code <= 0x10ffff ? String.fromCodePoint(code) : "\ufffd";
    }
    this.pending = bytes.slice(whole);
    return text;
  }
}

/** Whether a stream of chunks is valid UTF-8 (sequences may be cut between chunks). */
export class Utf8Validator {
  private carry = new Uint8Array(0);
  private valid = true;

  push(chunk: Uint8Array): void {
    if (!this.valid) return;
    const bytes = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    const cut = incompleteTail(bytes);
    if (!isUtf8(bytes.subarray(0, bytes.length - cut))) this.valid = false;
    this.carry = bytes.slice(bytes.length - cut);
  }

  /** After the last chunk. */
  end(): boolean {
    if (this.carry.length > 0) this.valid = false;
    return this.valid;
  }
}

/** How many bytes at the end start a multi-byte sequence the chunk does not finish. */
function incompleteTail(bytes: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back]!;
    if ((byte & 0xc0) === 0x80) continue; // continuation: look further back
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return length > back ? back : 0;
  }
  return 0;
}
