import type { ScanContext } from "../context.js";
import type { Reporter } from "../findings.js";
import { Cursor } from "../io/cursor.js";
import { MalformedError, ScanError } from "../io/errors.js";
import type { RandomAccess } from "../io/random-access.js";
import { scanPickleAt } from "../pickle/scan.js";
import { latin1, quote, startsWithBytes, utf8OrUndefined } from "../text.js";

/**
 * NumPy .npy (numpy/lib/format.py): magic, version, a Python-literal header dict with descr,
 * fortran_order and shape. An object dtype anywhere in descr means the data is a pickle that
 * np.load(allow_pickle=True) runs; it is scanned as one. Numeric data is only sized.
 */

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** numpy refuses larger headers unless told otherwise (max_header_size, numpy >= 1.24). */
const NUMPY_MAX_HEADER = 10_000;
const HARD_MAX_HEADER = 1024 * 1024;

export function looksLikeNpy(head: Uint8Array): boolean {
  return startsWithBytes(head, MAGIC);
}

type PyLiteral =
  | string
  | bigint
  | boolean
  | null
  | PyLiteral[]
  | Map<string, PyLiteral>
  | { readonly tuple: PyLiteral[] };

export function scanNpy(source: RandomAccess, reporter: Reporter, ctx: ScanContext): void {
  try {
    readNpy(source, reporter, ctx);
  } catch (error) {
    if (!(error instanceof ScanError)) throw error;
    reporter.report("INVALID", "NPY_MALFORMED", `.npy header: ${error.message}`, error.offset);
  }
}

function readNpy(source: RandomAccess, reporter: Reporter, ctx: ScanContext): void {
  const c = new Cursor(source);
  c.skip(6, "magic");
  const major = c.u8("major version");
  c.u8("minor version");
  if (major < 1 || major > 3) throw new MalformedError(`unknown .npy version ${major}`, 6);
  const headerLength = major === 1 ? c.u16("header length") : c.u32("header length");
  if (headerLength > HARD_MAX_HEADER) throw new MalformedError(`header of ${headerLength} bytes`, 8);
  if (headerLength > NUMPY_MAX_HEADER) {
    reporter.report(
      "WARN",
      "NPY_LARGE_HEADER",
      `header of ${headerLength} bytes; np.load rejects more than ${NUMPY_MAX_HEADER} by default`,
    );
  }
  const raw = c.bytes(headerLength, "header");
  const text = major === 3 ? utf8OrUndefined(raw) : latin1(raw);
  if (text === undefined) throw new MalformedError("version 3 header is not UTF-8", 10);
  const header = new LiteralParser(text).parseAll();
  if (!(header instanceof Map)) throw new MalformedError("header is not a dict", 10);
  const descr = header.get("descr");
  const shape = header.get("shape");
  if (descr === undefined || shape === undefined || !header.has("fortran_order")) {
    throw new MalformedError("header lacks descr, fortran_order or shape", 10);
  }
  const dataStart = c.pos;
  if (hasObjectField(descr)) {
    // np.load runs pickle.load on the rest of the file.
    scanPickleAt(source, dataStart, reporter.within("object-array-pickle"), ctx, { mode: "definitive" });
    return;
  }
  const dims = isTuple(shape) ? shape.tuple : undefined;
  if (!dims?.every((d): d is bigint => typeof d === "bigint" && d >= 0n)) {
    throw new MalformedError("shape is not a tuple of non-negative integers", 10);
  }
  const itemSize = itemSizeOf(descr);
  if (itemSize === undefined) {
    reporter.report(
      "WARN",
      "NPY_UNKNOWN_DTYPE",
      `dtype ${quote(describeDescr(descr))} is not understood; data size not checked`,
    );
    return;
  }
  const needed = dims.reduce((a, b) => a * b, 1n) * BigInt(itemSize);
  const available = BigInt(source.size - dataStart);
  if (needed > available) {
    reporter.report(
      "INVALID",
      "NPY_TRUNCATED",
      `array needs ${needed} bytes of data, the file has ${available}`,
      dataStart,
    );
  }
}

function isTuple(value: PyLiteral): value is { readonly tuple: PyLiteral[] } {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Map);
}

/** descr is a type string or, for structured arrays, a list of (name, descr[, shape]) tuples. */
function hasObjectField(descr: PyLiteral): boolean {
  if (typeof descr === "string") return /O/.test(descr.replace(/^[<>|=]/, ""));
  if (Array.isArray(descr)) {
    return descr.some((field) =>
      isTuple(field) ? field.tuple.slice(1, 2).some(hasObjectField) : hasObjectField(field),
    );
  }
  if (isTuple(descr)) return descr.tuple.some(hasObjectField);
  return false;
}

function itemSizeOf(descr: PyLiteral): number | undefined {
  if (typeof descr === "string") {
    const match = /^[<>|=]?([?bBhHiIlLqQpPefdgFDGmMSUaVc])(\d*)(?:\[\w+\])?$/.exec(descr);
    if (!match) return undefined;
    const [, kind, digits] = match;
    const n = digits ? Number(digits) : undefined;
    if (kind === "U") return (n ?? 1) * 4;
    if ("SaVc".includes(kind!)) return n ?? 1;
    if (n !== undefined) return n;
    return KIND_SIZES[kind!];
  }
  if (Array.isArray(descr)) {
    let total = 0;
    for (const field of descr) {
      if (!isTuple(field) || field.tuple.length < 2) return undefined;
      const size = itemSizeOf(field.tuple[1]!);
      if (size === undefined) return undefined;
      const sub = field.tuple[2];
      const count =
        sub && isTuple(sub) ? sub.tuple.reduce<number>((a, d) => a * (typeof d === "bigint" ? Number(d) : 1), 1) : 1;
      total += size * count;
    }
    return total;
  }
  return undefined;
}

const KIND_SIZES: Readonly<Record<string, number>> = {
  "?": 1,
  b: 1,
  B: 1,
  h: 2,
  H: 2,
  i: 4,
  I: 4,
  l: 8,
  L: 8,
  q: 8,
  Q: 8,
  p: 8,
  P: 8,
  e: 2,
  f: 4,
  d: 8,
  g: 16,
  F: 8,
  D: 16,
  G: 32,
};

function describeDescr(descr: PyLiteral): string {
  return typeof descr === "string" ? descr : "<structured>";
}

/** Just enough of Python's literal syntax for .npy headers (what ast.literal_eval accepts there). */
class LiteralParser {
  private pos = 0;
  private depth = 0;

  constructor(private readonly text: string) {}

  parseAll(): PyLiteral {
    const value = this.value();
    this.space();
    if (this.pos < this.text.length) this.fail("unexpected text after the header");
    return value;
  }

  private value(): PyLiteral {
    this.space();
    if (++this.depth > 32) this.fail("header nested too deeply");
    try {
      const ch = this.text[this.pos];
      if (ch === "{") return this.dict();
      if (ch === "(") return { tuple: this.sequence(")") };
      if (ch === "[") return this.sequence("]");
      if (ch === "'" || ch === '"') return this.string();
      const word = /^(True|False|None|-?\d+L?)/.exec(this.text.slice(this.pos, this.pos + 40));
      if (!word) return this.fail("unexpected token");
      this.pos += word[0].length;
      if (word[0] === "True") return true;
      if (word[0] === "False") return false;
      if (word[0] === "None") return null;
      return BigInt(word[0].replace(/L$/, ""));
    } finally {
      this.depth--;
    }
  }

  private dict(): Map<string, PyLiteral> {
    this.pos++;
    const out = new Map<string, PyLiteral>();
    for (;;) {
      this.space();
      if (this.text[this.pos] === "}") {
        this.pos++;
        return out;
      }
      const key = this.value();
      if (typeof key !== "string") this.fail("dict key is not a string");
      this.space();
      if (this.text[this.pos++] !== ":") this.fail("expected ':'");
      out.set(key, this.value());
      this.space();
      if (this.text[this.pos] === ",") this.pos++;
      else if (this.text[this.pos] !== "}") this.fail("expected ',' or '}'");
    }
  }

  private sequence(close: string): PyLiteral[] {
    this.pos++;
    const out: PyLiteral[] = [];
    for (;;) {
      this.space();
      if (this.text[this.pos] === close) {
        this.pos++;
        return out;
      }
      out.push(this.value());
      this.space();
      if (this.text[this.pos] === ",") this.pos++;
      else if (this.text[this.pos] !== close) this.fail(`expected ',' or '${close}'`);
    }
  }

  private string(): string {
    const quoteChar = this.text[this.pos]!;
    const end = this.text.indexOf(quoteChar, this.pos + 1);
    if (end < 0) this.fail("unterminated string");
    const body = this.text.slice(this.pos + 1, end);
    if (body.includes("\\")) this.fail("escapes in header strings are not supported");
    this.pos = end + 1;
    return body;
  }

  private space(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }

  private fail(message: string): never {
    throw new MalformedError(`${message} at character ${this.pos}`, 10 + this.pos);
  }
}
