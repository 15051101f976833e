import { TextDecoder } from "node:util";
import { JsonError, describeByte } from "./errors.js";

/**
 * An incremental JSON tokenizer over UTF-8 bytes: chunks go in with write(), events come out
 * synchronously, so a body can be checked while it arrives and a file of any size read in
 * pieces. It accepts exactly what CPython's json.loads accepts (strictly: no control characters
 * in strings, `\uXXXX` with four hex digits, lone surrogates kept as they are), plus NaN,
 * Infinity and -Infinity when asked, and it bounds what a hostile document can cost: nesting
 * depth (a stack of one small number per level), input bytes, and the length of any string or
 * number it keeps. Strings and numbers the consumer does not want are checked, never decoded.
 */

export interface JsonEvents {
  beginObject(): void;
  endObject(): void;
  beginArray(): void;
  endArray(): void;
  /** An object key, always decoded; `position` is the byte offset of its opening quote. */
  key(key: string, position: number): void;
  /** A string value; undefined when wantsText() said no when it began. */
  string(value: string | undefined): void;
  /** A number, or NaN/Infinity/-Infinity, as its source text; undefined when not kept. */
  number(raw: string | undefined): void;
  literal(value: boolean | null): void;
  /** Asked as a string or number value begins: false means check it without keeping it. */
  wantsText(): boolean;
}

export interface JsonTokenizerOptions {
  /** Arrays and objects open at once (default 64). Python's own parser stops near 1000. */
  readonly maxDepth?: number;
  /** Input bytes in all (default: unbounded). */
  readonly maxBytes?: number;
  /** UTF-8 bytes of one string or number that is kept (default: maxBytes). */
  readonly maxTextBytes?: number;
  /** Accept NaN, Infinity and -Infinity, as Python's json module does (default false, as JSON.parse). */
  readonly allowNonFinite?: boolean;
  /** Invalid UTF-8 in a kept string: refuse it (default), or decode it as U+FFFD. */
  readonly invalidUtf8?: "error" | "replace";
  /** After the value: only whitespace may follow (default), or stop reading there (see `end`). */
  readonly trailing?: "error" | "stop";
}

// Where the tokenizer is. The first group expects structure; the second is inside a token.
const VALUE = 0; // a value must come: document start, after ':', after ',' in an array
const VALUE_OR_CLOSE = 1; // after '['
const KEY_OR_CLOSE = 2; // after '{'
const KEY = 3; // after ',' in an object
const COLON = 4;
const AFTER_VALUE = 5; // ',' or the container's closer
const DONE = 6; // only whitespace may follow
const STOPPED = 7; // trailing: "stop" and the value is complete
const FAILED = 8;
const STRING = 9;
const ESCAPE = 10;
const UNICODE = 11;
const NUMBER = 12;
const LITERAL = 13;

// Number grammar, as CPython's NUMBER_RE: -?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?
const N_MINUS = 0;
const N_ZERO = 1;
const N_INT = 2;
const N_DOT = 3;
const N_FRAC = 4;
const N_E = 5;
const N_E_SIGN = 6;
const N_EXP = 7;
const NUMBER_CAN_END = [false, true, true, false, true, false, false, true];

const OBJECT = 1;
const ARRAY = 2;

/** What each escape after a backslash stands for (`u` is handled on its own). */
const ESCAPES: ReadonlyMap<number, string> = new Map([
  [0x22, '"'],
  [0x5c, "\\"],
  [0x2f, "/"],
  [0x62, "\b"],
  [0x66, "\f"],
  [0x6e, "\n"],
  [0x72, "\r"],
  [0x74, "\t"],
]);

/** Words a value may start with, by first byte (NaN and Infinity only when allowed). */
const LITERALS: ReadonlyMap<number, string> = new Map([
  [0x74, "true"],
  [0x66, "false"],
  [0x6e, "null"],
  [0x4e, "NaN"],
  [0x49, "Infinity"],
]);

const EMPTY: Buffer = Buffer.alloc(0);

export class JsonTokenizer {
  private state = VALUE;
  private readonly containers: number[] = [];
  private readonly maxDepth: number;
  private readonly maxBytes: number;
  private readonly maxTextBytes: number;
  private readonly allowNonFinite: boolean;
  private readonly stopAfterValue: boolean;
  private readonly utf8: TextDecoder;
  /** Bytes before the chunk being read. */
  private base = 0;
  /** The chunk being read, as a Buffer (a view, not a copy) for its cheap text slicing. */
  private chunk = EMPTY;
  private ended = false;
  private stoppedAt = -1;

  // The token being read, which may span chunks.
  private tokenStart = 0;
  private isKey = false;
  private keep = false;
  private text = "";
  private textBytes = 0;
  /** A run of raw string bytes was cut by the end of a chunk and is held by the UTF-8 decoder. */
  private runPending = false;
  private unicode = 0;
  private unicodeDigits = 0;
  private numberState = N_MINUS;
  private literalWord = "";
  private literalIndex = 0;

  constructor(
    private readonly events: JsonEvents,
    options: JsonTokenizerOptions = {},
  ) {
    this.maxDepth = options.maxDepth ?? 64;
    this.maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    this.maxTextBytes = options.maxTextBytes ?? this.maxBytes;
    this.allowNonFinite = options.allowNonFinite ?? false;
    this.stopAfterValue = options.trailing === "stop";
    this.utf8 = new TextDecoder("utf-8", { fatal: options.invalidUtf8 !== "replace", ignoreBOM: true });
  }

  /** Where the token behind the latest event starts (for consumers' own errors). */
  get tokenPosition(): number {
    return this.tokenStart;
  }

  /** With trailing: "stop", the offset just after the value once it is complete; else -1. */
  get valueEnd(): number {
    return this.stoppedAt;
  }

  write(chunk: Uint8Array): void {
    if (this.state === STOPPED) return;
    if (this.state === FAILED || this.ended) throw new Error("JsonTokenizer: write after an error or end()");
    if (this.base + chunk.length > this.maxBytes) {
      this.fail("JSON_TOO_LARGE", `input is larger than ${this.maxBytes} bytes`, this.maxBytes);
    }
    this.chunk = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    try {
      this.read(this.chunk);
    } catch (error) {
      this.state = FAILED;
      throw error;
    } finally {
      this.chunk = EMPTY;
    }
    this.base += chunk.length;
  }

  /** Call after the last chunk: refuses a document that stops part way. */
  end(): void {
    if (this.state === STOPPED || this.ended) return;
    this.ended = true;
    const at = this.base;
    if (this.state === NUMBER) {
      if (!NUMBER_CAN_END[this.numberState]) this.fail("JSON_INVALID", "number ends too early", at);
      this.finishNumber(at);
    }
    if (this.state === DONE || this.state === STOPPED) return;
    const empty = at === 0 || (this.state === VALUE && this.containers.length === 0);
    this.fail("JSON_INVALID", empty ? "no JSON value (empty input)" : "the JSON value ends too early", at);
  }

  private read(chunk: Uint8Array): void {
    const n = chunk.length;
    const base = this.base;
    let i = 0;
    while (i < n && this.state !== STOPPED) {
      const c = chunk[i]!;
      switch (this.state) {
        case STRING: {
          let j = i;
          let run = chunk[j]!;
          let bits = 0;
          while (run !== 0x22 && run !== 0x5c && run >= 0x20) {
            bits |= run;
            if (++j === n) break;
            run = chunk[j]!;
          }
          if (this.keep && (j > i || this.runPending)) this.keepRun(i, j, j === n, bits < 0x80);
          i = j;
          if (i === n) break;
          if (run === 0x22) {
            this.finishString(base + i + 1);
          } else if (run === 0x5c) {
            this.state = ESCAPE;
          } else {
            this.fail("JSON_INVALID", "control character in a string (escape it)", base + i);
          }
          i++;
          break;
        }
        case ESCAPE: {
          if (c === 0x75) {
            this.state = UNICODE;
            this.unicode = 0;
            this.unicodeDigits = 0;
          } else {
            const decoded = ESCAPES.get(c);
            if (decoded === undefined)
              this.fail("JSON_INVALID", `invalid escape: backslash followed by ${describeByte(c)}`, base + i);
            this.keepText(decoded, 1, base + i);
            this.state = STRING;
          }
          i++;
          break;
        }
        case UNICODE: {
          const digit = hexValue(c);
          if (digit < 0)
            this.fail("JSON_INVALID", `invalid \\u escape: ${describeByte(c)} is not a hex digit`, base + i);
          this.unicode = this.unicode * 16 + digit;
          if (++this.unicodeDigits === 4) {
            this.keepText(String.fromCharCode(this.unicode), 3, base + i);
            this.state = STRING;
          }
          i++;
          break;
        }
        case NUMBER: {
          let j = i;
          let state = this.numberState;
          for (; j < n; j++) {
            const next = nextNumberState(state, chunk[j]!);
            if (next < 0) break;
            state = next;
          }
          if (this.keep && j > i) this.keepText(this.chunk.toString("latin1", i, j), j - i, base + j);
          this.numberState = state;
          i = j;
          if (i === n) break;
          if (state === N_MINUS && chunk[i] === 0x49 && this.allowNonFinite) {
            this.startLiteral("-Infinity", 1);
            break;
          }
          if (!NUMBER_CAN_END[state])
            this.fail("JSON_INVALID", `invalid number: unexpected ${describeByte(chunk[i])}`, base + i);
          this.finishNumber(base + i);
          break; // the byte that ended the number is read again in the new state
        }
        case LITERAL: {
          if (c !== this.literalWord.charCodeAt(this.literalIndex)) {
            this.fail("JSON_INVALID", `invalid literal: expected ${this.literalWord}`, base + i);
          }
          i++;
          if (++this.literalIndex === this.literalWord.length) this.finishLiteral(base + i);
          break;
        }
        default: {
          if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
            i++;
            break;
          }
          this.structure(c, base + i);
          i++;
        }
      }
    }
  }

  /** A byte that is not whitespace, outside any token. */
  private structure(c: number, at: number): void {
    switch (this.state) {
      case VALUE:
        this.startValue(c, at);
        break;
      case VALUE_OR_CLOSE:
        if (c === 0x5d) this.close(ARRAY, at);
        else this.startValue(c, at);
        break;
      case AFTER_VALUE:
        this.afterValueByte(c, at);
        break;
      case KEY_OR_CLOSE:
        if (c === 0x7d) this.close(OBJECT, at);
        else this.startKey(c, at);
        break;
      case KEY:
        this.startKey(c, at);
        break;
      case COLON:
        if (c !== 0x3a) this.fail("JSON_INVALID", `expected ':' after a key, found ${describeByte(c)}`, at);
        this.state = VALUE;
        break;
      default:
        this.fail("JSON_INVALID", `unexpected ${describeByte(c)} after the JSON value`, at);
    }
  }

  private afterValueByte(c: number, at: number): void {
    const inside = this.containers[this.containers.length - 1];
    if (c === 0x2c) this.state = inside === OBJECT ? KEY : VALUE;
    else if (c === (inside === OBJECT ? 0x7d : 0x5d)) this.close(inside!, at);
    else {
      const expected = inside === OBJECT ? "',' or '}'" : "',' or ']'";
      this.fail("JSON_INVALID", `expected ${expected}, found ${describeByte(c)}`, at);
    }
  }

  private startKey(c: number, at: number): void {
    if (c !== 0x22) this.fail("JSON_INVALID", `expected a string key, found ${describeByte(c)}`, at);
    this.startString(true, at);
  }

  private startValue(c: number, at: number): void {
    this.tokenStart = at;
    if (c === 0x7b) {
      this.open(OBJECT, at);
      this.events.beginObject();
      this.state = KEY_OR_CLOSE;
    } else if (c === 0x5b) {
      this.open(ARRAY, at);
      this.events.beginArray();
      this.state = VALUE_OR_CLOSE;
    } else if (c === 0x22) {
      this.startString(false, at);
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      this.keep = this.events.wantsText();
      this.text = this.keep ? String.fromCharCode(c) : "";
      this.textBytes = 1;
      this.numberState = c === 0x2d ? N_MINUS : c === 0x30 ? N_ZERO : N_INT;
      this.state = NUMBER;
    } else {
      const word = LITERALS.get(c);
      if (word === undefined) this.fail("JSON_INVALID", `expected a value, found ${describeByte(c)}`, at);
      if (!this.allowNonFinite && (word === "NaN" || word === "Infinity")) {
        this.fail("JSON_INVALID", `expected a value, found ${describeByte(c)} (NaN and Infinity are not JSON)`, at);
      }
      this.startLiteral(word, 1);
    }
  }

  private open(kind: number, at: number): void {
    if (this.containers.length >= this.maxDepth) {
      this.fail("JSON_TOO_DEEP", `arrays and objects nested deeper than ${this.maxDepth}`, at);
    }
    this.containers.push(kind);
  }

  private close(kind: number, at: number): void {
    this.tokenStart = at;
    this.containers.pop();
    if (kind === OBJECT) this.events.endObject();
    else this.events.endArray();
    this.afterValue(at + 1);
  }

  private afterValue(end: number): void {
    if (this.containers.length > 0) this.state = AFTER_VALUE;
    else if (this.stopAfterValue) {
      this.state = STOPPED;
      this.stoppedAt = end;
    } else this.state = DONE;
  }

  private startString(isKey: boolean, at: number): void {
    this.tokenStart = at;
    this.isKey = isKey;
    this.keep = isKey || this.events.wantsText();
    this.text = "";
    this.textBytes = 0;
    this.runPending = false;
    this.state = STRING;
  }

  private keepRun(from: number, to: number, cutByChunkEnd: boolean, isAscii: boolean): void {
    this.textBytes += to - from;
    this.checkTextLength(this.base + to);
    if (isAscii && !this.runPending) {
      this.text += this.chunk.toString("latin1", from, to);
      return;
    }
    try {
      this.text += this.utf8.decode(this.chunk.subarray(from, to), { stream: cutByChunkEnd });
    } catch {
      this.fail("JSON_INVALID", "invalid UTF-8 in the string starting", this.tokenStart);
    }
    this.runPending = cutByChunkEnd;
  }

  private keepText(text: string, bytes: number, at: number): void {
    if (!this.keep) return;
    this.textBytes += bytes;
    this.checkTextLength(at);
    this.text += text;
  }

  private checkTextLength(at: number): void {
    if (this.textBytes > this.maxTextBytes) {
      this.fail("JSON_TOO_LARGE", `a string or number longer than ${this.maxTextBytes} bytes`, at);
    }
  }

  private finishString(end: number): void {
    const text = this.keep ? this.text : undefined;
    this.text = "";
    if (this.isKey) {
      this.events.key(text!, this.tokenStart);
      this.state = COLON;
    } else {
      this.events.string(text);
      this.afterValue(end);
    }
  }

  private finishNumber(end: number): void {
    const text = this.keep ? this.text : undefined;
    this.text = "";
    this.events.number(text);
    this.afterValue(end);
  }

  private startLiteral(word: string, matched: number): void {
    this.literalWord = word;
    this.literalIndex = matched;
    this.state = LITERAL;
  }

  private finishLiteral(end: number): void {
    const word = this.literalWord;
    if (word === "true" || word === "false" || word === "null") {
      this.events.literal(word === "null" ? null : word === "true");
    } else {
      this.keep = this.events.wantsText();
      this.events.number(this.keep ? word : undefined);
    }
    this.afterValue(end);
  }

  private fail(code: JsonError["code"], message: string, at: number): never {
    this.state = FAILED;
    throw new JsonError(code, message, at);
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

function nextNumberState(state: number, c: number): number {
  const digit = c >= 0x30 && c <= 0x39;
  switch (state) {
    case N_MINUS:
      return c === 0x30 ? N_ZERO : digit ? N_INT : -1;
    case N_ZERO:
      return c === 0x2e ? N_DOT : c === 0x65 || c === 0x45 ? N_E : -1;
    case N_INT:
      return digit ? N_INT : c === 0x2e ? N_DOT : c === 0x65 || c === 0x45 ? N_E : -1;
    case N_DOT:
      return digit ? N_FRAC : -1;
    case N_FRAC:
      return digit ? N_FRAC : c === 0x65 || c === 0x45 ? N_E : -1;
    case N_E:
      return c === 0x2b || c === 0x2d ? N_E_SIGN : digit ? N_EXP : -1;
    case N_E_SIGN:
    case N_EXP:
      return digit ? N_EXP : -1;
    default:
      return -1;
  }
}
