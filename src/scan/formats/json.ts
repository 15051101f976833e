import { MalformedError, LimitError } from "../io/errors.js";

/**
 * A strict JSON parser for the documents the scanner judges. JSON.parse cannot be used: it
 * silently keeps the last of duplicate keys (a parser differential: safetensors requires unique
 * keys, other readers keep the first), loses integer precision above 2^53 (tensor offsets and
 * shapes), and has no depth limit. Numbers are kept as their source text.
 */
export class JsonNumber {
  constructor(readonly raw: string) {}

  get value(): number {
    return Number(this.raw);
  }

  /** The exact integer, or undefined for fractions and exponents. */
  get integer(): bigint | undefined {
    return /^-?(0|[1-9]\d*)$/.test(this.raw) ? BigInt(this.raw) : undefined;
  }
}

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;
export interface JsonObject {
  readonly [key: string]: JsonValue;
}

export interface JsonParseOptions {
  readonly maxDepth?: number;
  /** Accept NaN, Infinity and -Infinity as Python's json module does. */
  readonly allowNonFinite?: boolean;
  /** Called for every key that appears twice in one object; the later value is kept. */
  readonly onDuplicateKey?: (key: string, offset: number) => void;
  /** Values built before giving up (LimitError): bounds memory whatever the text's shape. */
  readonly maxValues?: number;
}

const DEFAULT_MAX_VALUES = 1_000_000;

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof JsonNumber);
}

/** Parses a whole document: only whitespace may follow the value. */
export function parseJson(text: string, options: JsonParseOptions = {}): JsonValue {
  const parser = new Parser(text, options);
  const value = parser.parseDocument();
  return value;
}

/**
 * Walks a top-level object without building it: `visit` gets each key and decides whether to
 * build its value (`value()`) or only check its syntax (`skip()`); it must call one of them.
 * Top-level duplicate keys are reported through onDuplicateKey. Memory stays proportional to
 * the values asked for, not to the document.
 */
export function parseJsonObjectEntries(
  text: string,
  visit: (key: string, offset: number, value: () => JsonValue, skip: () => void) => void,
  options: JsonParseOptions = {},
): void {
  const parser = new Parser(text, options);
  parser.parseObjectEntries(visit);
}

/** Parses one value starting at `start` and returns where it ended (for JSON embedded in binaries). */
export function parseJsonPrefix(
  text: string,
  start: number,
  options: JsonParseOptions = {},
): { value: JsonValue; end: number } {
  const parser = new Parser(text, options, start);
  const value = parser.parseValue(0);
  return { value, end: parser.pos };
}

class Parser {
  pos: number;
  private readonly maxDepth: number;
  private valuesLeft: number;
  /** While skipping, values are checked but not built or counted. */
  private building = true;

  constructor(
    private readonly text: string,
    private readonly options: JsonParseOptions,
    start = 0,
  ) {
    this.pos = start;
    this.maxDepth = options.maxDepth ?? 512;
    this.valuesLeft = options.maxValues ?? DEFAULT_MAX_VALUES;
  }

  parseObjectEntries(visit: (key: string, offset: number, value: () => JsonValue, skip: () => void) => void): void {
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) !== 0x7b) this.fail("expected an object");
    this.pos++;
    const seen = new Set<string>();
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
    } else {
      for (;;) {
        this.skipWhitespace();
        if (this.text.charCodeAt(this.pos) !== 0x22) this.fail("expected a string key");
        const keyAt = this.pos;
        const key = this.parseString();
        if (seen.has(key)) this.options.onDuplicateKey?.(key, keyAt);
        seen.add(key);
        this.skipWhitespace();
        if (this.text.charCodeAt(this.pos) !== 0x3a) this.fail("expected ':'");
        this.pos++;
        let consumed = false;
        const value = () => {
          consumed = true;
          // The budget is per entry: entries are checked and dropped one by one.
          this.valuesLeft = this.options.maxValues ?? DEFAULT_MAX_VALUES;
          return this.parseValue(1);
        };
        const skip = () => {
          consumed = true;
          this.building = false;
          try {
            this.parseValue(1);
          } finally {
            this.building = true;
          }
        };
        visit(key, keyAt, value, skip);
        if (!consumed) skip();
        this.skipWhitespace();
        const next = this.text.charCodeAt(this.pos++);
        if (next === 0x7d) break;
        if (next !== 0x2c) this.fail("expected ',' or '}'", this.pos - 1);
      }
    }
    this.skipWhitespace();
    if (this.pos < this.text.length) this.fail("unexpected data after the JSON value");
  }

  private count(): void {
    if (this.building && --this.valuesLeft < 0) {
      throw new LimitError("jsonValues", "JSON document holds more values than the scanner builds", this.pos);
    }
  }

  parseDocument(): JsonValue {
    const value = this.parseValue(0);
    this.skipWhitespace();
    if (this.pos < this.text.length) this.fail("unexpected data after the JSON value");
    return value;
  }

  parseValue(depth: number): JsonValue {
    this.skipWhitespace();
    this.count();
    const ch = this.text.charCodeAt(this.pos);
    switch (ch) {
      case 0x7b: // {
        return this.parseObject(depth + 1);
      case 0x5b: // [
        return this.parseArray(depth + 1);
      case 0x22: // "
        return this.parseString();
      case 0x74: // t
        return this.literal("true", true);
      case 0x66: // f
        return this.literal("false", false);
      case 0x6e: // n
        return this.literal("null", null);
      case 0x4e: // N
        return this.nonFinite("NaN");
      case 0x49: // I
        return this.nonFinite("Infinity");
      default:
        if (ch === 0x2d && this.text.startsWith("-Infinity", this.pos)) return this.nonFinite("-Infinity");
        if (ch === 0x2d || (ch >= 0x30 && ch <= 0x39)) return this.parseNumber();
        return this.fail(Number.isNaN(ch) ? "unexpected end of JSON" : "unexpected character");
    }
  }

  private parseObject(depth: number): JsonObject {
    if (depth > this.maxDepth) throw new LimitError("jsonDepth", `JSON nested deeper than ${this.maxDepth}`, this.pos);
    this.pos++;
    const out: Record<string, JsonValue> = Object.create(null) as Record<string, JsonValue>;
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== 0x22) this.fail("expected a string key");
      const keyAt = this.pos;
      const key = this.parseString();
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== 0x3a) this.fail("expected ':'");
      this.pos++;
      const value = this.parseValue(depth);
      if (this.building) {
        if (Object.hasOwn(out, key)) this.options.onDuplicateKey?.(key, keyAt);
        out[key] = value;
      }
      this.skipWhitespace();
      const next = this.text.charCodeAt(this.pos++);
      if (next === 0x7d) return out;
      if (next !== 0x2c) this.fail("expected ',' or '}'", this.pos - 1);
    }
  }

  private parseArray(depth: number): JsonValue[] {
    if (depth > this.maxDepth) throw new LimitError("jsonDepth", `JSON nested deeper than ${this.maxDepth}`, this.pos);
    this.pos++;
    const out: JsonValue[] = [];
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      return out;
    }
    for (;;) {
      const value = this.parseValue(depth);
      if (this.building) out.push(value);
      this.skipWhitespace();
      const next = this.text.charCodeAt(this.pos++);
      if (next === 0x5d) return out;
      if (next !== 0x2c) this.fail("expected ',' or ']'", this.pos - 1);
    }
  }

  private parseString(): string {
    const start = this.pos;
    let i = start + 1;
    let escaped = false;
    for (;;) {
      const ch = this.text.charCodeAt(i);
      if (Number.isNaN(ch)) this.fail("unterminated string", start);
      if (ch === 0x22) break;
      if (ch < 0x20) this.fail("control character in string", i);
      if (ch === 0x5c) {
        escaped = true;
        i += 2;
        continue;
      }
      i++;
    }
    this.pos = i + 1;
    if (!escaped) return this.text.slice(start + 1, i);
    try {
      return JSON.parse(this.text.slice(start, i + 1)) as string;
    } catch {
      return this.fail("invalid escape in string", start);
    }
  }

  private parseNumber(): JsonNumber {
    const match = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
    match.lastIndex = this.pos;
    const found = match.exec(this.text);
    if (!found || found[0] === "-") this.fail("invalid number");
    this.pos += found[0].length;
    return new JsonNumber(found[0]);
  }

  private literal<T extends JsonValue>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail("unexpected literal");
    this.pos += word.length;
    return value;
  }

  private nonFinite(word: string): JsonNumber {
    if (!this.options.allowNonFinite || !this.text.startsWith(word, this.pos)) this.fail("unexpected literal");
    this.pos += word.length;
    return new JsonNumber(word);
  }

  private skipWhitespace(): void {
    const text = this.text;
    let i = this.pos;
    for (;;) {
      const ch = text.charCodeAt(i);
      if (ch === 0x20 || ch === 0x0a || ch === 0x0d || ch === 0x09) i++;
      else break;
    }
    this.pos = i;
  }

  private fail(message: string, at = this.pos): never {
    throw new MalformedError(`invalid JSON: ${message} at character ${at}`, at);
  }
}

/** Visits every object in a parsed document, depth first, without recursion limits of its own. */
export function forEachObject(root: JsonValue, visit: (object: JsonObject) => void): void {
  const stack: JsonValue[] = [root];
  while (stack.length > 0) {
    const value = stack.pop()!;
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push(value[i]!);
    } else if (isJsonObject(value)) {
      visit(value);
      const values = Object.values(value);
      for (let i = values.length - 1; i >= 0; i--) stack.push(values[i]!);
    }
  }
}
