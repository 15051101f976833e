import { MalformedError } from "./errors.js";
import type { RandomAccess } from "./random-access.js";

const WINDOW = 64 * 1024;

/**
 * A bounded sequential reader: every read checks its length against the bytes that remain
 * before touching them, so a length field of 2^60 is an error, not an allocation. Reads are
 * served from a 64 KiB window so per-opcode reads do not each hit the disk.
 */
export class Cursor {
  pos: number;
  readonly end: number;
  littleEndian: boolean;
  private window: Uint8Array = new Uint8Array(0);
  private windowStart = 0;

  constructor(
    readonly source: RandomAccess,
    start = 0,
    end = source.size,
    littleEndian = true,
  ) {
    this.pos = start;
    this.end = Math.min(end, source.size);
    this.littleEndian = littleEndian;
  }

  get remaining(): number {
    return Math.max(0, this.end - this.pos);
  }

  atEnd(): boolean {
    return this.pos >= this.end;
  }

  /** Fails unless n more bytes exist; `what` names the field in the error. */
  need(n: number, what: string): void {
    if (!Number.isSafeInteger(n) || n < 0 || n > this.remaining) {
      throw new MalformedError(`${what}: needs ${formatLength(n)} bytes, ${this.remaining} left`, this.pos);
    }
  }

  /** A view of the next n bytes without consuming them (valid until the next read). */
  peek(n: number, what = "data"): Uint8Array {
    this.need(n, what);
    return this.view(this.pos, n);
  }

  bytes(n: number, what = "data"): Uint8Array {
    const out = this.peek(n, what);
    this.pos += n;
    return out;
  }

  skip(n: number, what = "data"): void {
    this.need(n, what);
    this.pos += n;
  }

  u8(what = "u8"): number {
    const b = this.bytes(1, what);
    return b[0]!;
  }

  u16(what = "u16"): number {
    const b = this.bytes(2, what);
    return this.littleEndian ? b[0]! | (b[1]! << 8) : (b[0]! << 8) | b[1]!;
  }

  u32(what = "u32"): number {
    const b = this.bytes(4, what);
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, this.littleEndian);
  }

  i32(what = "i32"): number {
    const b = this.bytes(4, what);
    return new DataView(b.buffer, b.byteOffset, 4).getInt32(0, this.littleEndian);
  }

  u64(what = "u64"): bigint {
    const b = this.bytes(8, what);
    return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, this.littleEndian);
  }

  /** A u64 that must fit a JS number exactly (lengths, counts, offsets). */
  u64n(what = "u64"): number {
    const start = this.pos;
    const value = this.u64(what);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new MalformedError(`${what}: ${value} is larger than any file`, start);
    }
    return Number(value);
  }

  /**
   * Bytes up to the next "\n" (consumed, not returned). Fails when no newline comes within
   * maxLength bytes, as a text-line pickle argument longer than that is not a real one.
   */
  line(maxLength: number, what = "line"): Uint8Array {
    const limit = Math.min(this.remaining, maxLength + 1);
    let scanned = 0;
    while (scanned < limit) {
      const chunk = this.view(this.pos + scanned, Math.min(WINDOW, limit - scanned));
      const index = chunk.indexOf(0x0a);
      if (index >= 0) {
        const out = this.view(this.pos, scanned + index).slice();
        this.pos += scanned + index + 1;
        return out;
      }
      scanned += chunk.length;
    }
    if (limit < maxLength + 1) throw new MalformedError(`${what}: no newline before the end of the data`, this.pos);
    throw new MalformedError(`${what}: longer than ${maxLength} bytes`, this.pos);
  }

  private view(offset: number, n: number): Uint8Array {
    const windowEnd = this.windowStart + this.window.length;
    if (offset >= this.windowStart && offset + n <= windowEnd) {
      return this.window.subarray(offset - this.windowStart, offset - this.windowStart + n);
    }
    if (n > WINDOW) {
      const direct = this.source.read(offset, n);
      if (direct.length < n) throw new MalformedError("short read", offset);
      return direct;
    }
    this.window = this.source.read(offset, Math.max(n, Math.min(WINDOW, this.end - offset)));
    this.windowStart = offset;
    if (this.window.length < n) throw new MalformedError("short read", offset);
    return this.window.subarray(0, n);
  }
}

function formatLength(n: number): string {
  return Number.isSafeInteger(n) ? String(n) : "an impossible number of";
}
