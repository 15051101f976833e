import { MalformedError } from "./errors.js";
import type { RandomAccess } from "./random-access.js";

const FIRST_WINDOW = 4 * 1024;
const MAX_WINDOW = 1024 * 1024;

/**
 * A bounded sequential reader: every read checks its length against the bytes that remain
 * before touching them, so a length field of 2^60 is an error, not an allocation. Reads are
 * served from a window that starts small (a zip header needs 30 bytes) and doubles while the
 * reader keeps going (a pickle is read opcode by opcode), so neither pays for the other.
 */
export class Cursor {
  pos: number;
  readonly end: number;
  littleEndian: boolean;
  private window: Uint8Array = new Uint8Array(0);
  private windowStart = 0;
  private nextWindow = FIRST_WINDOW;

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
    // Hot path (one call per pickle opcode): a byte already in the window.
    const index = this.pos - this.windowStart;
    if (this.pos < this.end && index >= 0 && index < this.window.length) {
      this.pos++;
      return this.window[index]!;
    }
    const at = this.fixed(1, what);
    this.pos += 1;
    return this.window[at]!;
  }

  u16(what = "u16"): number {
    const at = this.fixed(2, what);
    this.pos += 2;
    const w = this.window;
    return this.littleEndian ? w[at]! | (w[at + 1]! << 8) : (w[at]! << 8) | w[at + 1]!;
  }

  u32(what = "u32"): number {
    const at = this.fixed(4, what);
    this.pos += 4;
    const w = this.window;
    return this.littleEndian
      ? (w[at]! | (w[at + 1]! << 8) | (w[at + 2]! << 16)) + w[at + 3]! * 0x1000000
      : w[at]! * 0x1000000 + ((w[at + 1]! << 16) | (w[at + 2]! << 8) | w[at + 3]!);
  }

  i32(what = "i32"): number {
    const value = this.u32(what);
    return value >= 0x80000000 ? value - 0x100000000 : value;
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
      const chunk = this.view(this.pos + scanned, Math.min(this.nextWindow, limit - scanned));
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

  /** Makes n bytes at pos available in the window; returns their index in it. */
  private fixed(n: number, what: string): number {
    this.need(n, what);
    const start = this.pos - this.windowStart;
    if (this.pos >= this.windowStart && start + n <= this.window.length) return start;
    this.refill(this.pos, n);
    return 0;
  }

  private view(offset: number, n: number): Uint8Array {
    const start = offset - this.windowStart;
    if (offset >= this.windowStart && start + n <= this.window.length) return this.window.subarray(start, start + n);
    if (n > MAX_WINDOW) {
      const direct = this.source.read(offset, n);
      if (direct.length < n) throw new MalformedError("short read", offset);
      return direct;
    }
    this.refill(offset, n);
    return this.window.subarray(0, n);
  }

  private refill(offset: number, n: number): void {
    this.window = this.source.read(offset, Math.min(Math.max(n, this.nextWindow), this.end - offset));
    this.windowStart = offset;
    this.nextWindow = Math.min(MAX_WINDOW, this.nextWindow * 2);
    if (this.window.length < n) throw new MalformedError("short read", offset);
  }
}

function formatLength(n: number): string {
  return Number.isSafeInteger(n) ? String(n) : "an impossible number of";
}
