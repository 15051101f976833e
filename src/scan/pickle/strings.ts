import { MalformedError } from "../io/errors.js";
import { latin1, utf8Lossy, utf8OrUndefined } from "../text.js";

/**
 * Decoders for pickle string arguments, matching what CPython's unpickler produces (with its
 * defaults: fix_imports=True, encoding="ASCII") closely enough for names and messages.
 */

/** BINUNICODE family: UTF-8 with surrogatepass; a lossy decode keeps scanning going. */
export function decodeUnicode(bytes: Uint8Array): string {
  return utf8OrUndefined(bytes) ?? utf8Lossy(bytes);
}

/** GLOBAL/INST text lines are decoded as strict UTF-8; anything else makes CPython fail. */
export function decodeName(bytes: Uint8Array, offset: number): string {
  const text = utf8OrUndefined(bytes);
  if (text === undefined) throw new MalformedError("import name is not valid UTF-8", offset);
  return text;
}

/** BINSTRING/SHORT_BINSTRING under encoding="ASCII": non-ASCII bytes fail in CPython. */
export function decodeAsciiString(bytes: Uint8Array, offset: number): string {
  for (const byte of bytes) {
    if (byte >= 0x80) throw new MalformedError("8-bit STRING argument cannot be decoded as ASCII", offset);
  }
  return latin1(bytes);
}

/** STRING: a quoted Python 2 repr, decoded with codecs.escape_decode, then as ASCII. */
export function decodeQuotedString(line: Uint8Array, offset: number): string {
  const first = line[0];
  if (line.length < 2 || (first !== 0x22 && first !== 0x27) || line[line.length - 1] !== first) {
    throw new MalformedError("the STRING opcode argument must be quoted", offset);
  }
  const body = line.subarray(1, line.length - 1);
  const out: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const byte = body[i]!;
    if (byte !== 0x5c) {
      out.push(byte);
      continue;
    }
    const next = body[++i];
    if (next === undefined) throw new MalformedError("trailing \\ in STRING argument", offset);
    const simple = SIMPLE_ESCAPES.get(next);
    if (simple !== undefined) {
      if (simple >= 0) out.push(simple);
      continue;
    }
    if (next === 0x78 /* x */) {
      const hex = latin1(body.subarray(i + 1, i + 3));
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new MalformedError("invalid \\x escape in STRING argument", offset);
      out.push(parseInt(hex, 16));
      i += 2;
      continue;
    }
    if (next >= 0x30 && next <= 0x37) {
      let value = next - 0x30;
      for (let k = 0; k < 2 && body[i + 1] !== undefined && body[i + 1]! >= 0x30 && body[i + 1]! <= 0x37; k++) {
        value = value * 8 + (body[++i]! - 0x30);
      }
      out.push(value & 0xff);
      continue;
    }
    out.push(0x5c, next); // unknown escapes stay as written
  }
  return decodeAsciiString(Uint8Array.from(out), offset);
}

// -1: the escape produces nothing (backslash-newline continues the line).
const SIMPLE_ESCAPES = new Map<number, number>([
  [0x5c, 0x5c],
  [0x27, 0x27],
  [0x22, 0x22],
  [0x61, 0x07],
  [0x62, 0x08],
  [0x66, 0x0c],
  [0x6e, 0x0a],
  [0x72, 0x0d],
  [0x74, 0x09],
  [0x76, 0x0b],
  [0x0a, -1],
]);

/** UNICODE: raw-unicode-escape, i.e. latin-1 plus \uXXXX and \UXXXXXXXX. */
export function decodeRawUnicodeEscape(line: Uint8Array, offset: number): string {
  const text = latin1(line);
  return text.replace(/\\(?:u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8}))|\\[uU]/g, (_match, short?: string, long?: string) => {
    const hex = short ?? long;
    if (hex === undefined) throw new MalformedError("truncated \\u escape in UNICODE argument", offset);
    const code = parseInt(hex, 16);
    if (code > 0x10ffff) throw new MalformedError("\\U escape out of range in UNICODE argument", offset);
    return String.fromCodePoint(code);
  });
}

/** INT/LONG/GET/PUT text arguments. Python's int() also takes "0x..", "_" and spaces. */
export function parseTextInt(line: Uint8Array, offset: number, { base0 = false, long = false } = {}): bigint {
  let text = latin1(line).trim().replace(/_/g, "");
  if (long && text.endsWith("L")) text = text.slice(0, -1);
  const match = base0 ? /^[+-]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|\d+)$/.exec(text) : /^[+-]?\d+$/.exec(text);
  if (!match) throw new MalformedError(`invalid integer literal ${JSON.stringify(text.slice(0, 40))}`, offset);
  const negative = text.startsWith("-");
  const digits = text.replace(/^[+-]/, "");
  const value = BigInt(digits);
  return negative ? -value : value;
}

/** FLOAT: Python float() syntax, loosely. */
export function checkTextFloat(line: Uint8Array, offset: number): void {
  const text = latin1(line).trim().replace(/_/g, "");
  if (!/^[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|inf|infinity|nan)$/i.test(text)) {
    throw new MalformedError(`invalid float literal ${JSON.stringify(text.slice(0, 40))}`, offset);
  }
}
