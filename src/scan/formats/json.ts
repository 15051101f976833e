import {
  JsonEntryStream,
  JsonError,
  type JsonParseOptions,
  parseJsonChunks,
  parseJsonPrefix,
} from "../../json/index.js";
import { LimitError, MalformedError } from "../io/errors.js";
import type { RandomAccess } from "../io/random-access.js";

/**
 * JSON as the scanner's readers see it: src/json underneath (incremental, bounded, decoding as
 * CPython's json does), with numbers kept as their source text (tensor offsets and shapes need
 * exact integers above 2^53), objects without a prototype, and errors turned into the readers'
 * MalformedError and LimitError.
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

export interface JsonReadOptions {
  readonly maxDepth: number;
  /** Accept NaN, Infinity and -Infinity as Python's json module does. */
  readonly allowNonFinite?: boolean;
  /** Values built per document, or per member when members are read one by one. */
  readonly maxValues?: number;
  /** Bytes of one string kept (a chat template); longer ones are a LimitError. */
  readonly maxTextBytes?: number;
  /** Which value of a repeated key an object keeps (default: the last, as Python). */
  readonly duplicateKeys?: "last" | "first";
  /** Called for every key that appears twice in one built object. */
  readonly onDuplicateKey?: (key: string, offset: number) => void;
}

const DEFAULT_MAX_VALUES = 1_000_000;
const CHUNK = 1024 * 1024;

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof JsonNumber);
}

/** A source's bytes [start, end) in chunks that stay valid until the next one is asked for. */
export function* chunksOf(source: RandomAccess, start = 0, end = source.size): Generator<Uint8Array> {
  for (let at = start; at < end; at += CHUNK) yield source.read(at, Math.min(CHUNK, end - at));
}

/** Parses a whole document: only whitespace may follow the value. */
export function readJson(chunks: Iterable<Uint8Array>, options: JsonReadOptions): JsonValue {
  return guard(() => parseJsonChunks(chunks, parseOptions(options)) as JsonValue);
}

/** Parses one value at the start of the input and returns where it ended (JSON inside binaries). */
export function readJsonPrefix(
  chunks: Iterable<Uint8Array>,
  options: JsonReadOptions,
): { value: JsonValue; end: number } {
  return guard(() => parseJsonPrefix(chunks, parseOptions(options)) as { value: JsonValue; end: number });
}

export interface JsonEntryVisitor {
  /** Every key of the top-level object, in order (repeats included): true builds its value. */
  select(key: string, offset: number): boolean;
  onEntry(key: string, value: JsonValue, offset: number): void;
  /** Every other key, decoded: inside members not built, or anywhere under a top-level array. */
  onOtherKey?(key: string, offset: number): void;
}

/**
 * Walks a document without building it: only the top-level members `select` asks for are built,
 * each on its own budget, so memory follows what is asked for, not the document's size.
 */
export function readJsonEntries(
  chunks: Iterable<Uint8Array>,
  visitor: JsonEntryVisitor,
  options: JsonReadOptions,
): void {
  guard(() => {
    const stream = new JsonEntryStream({
      ...parseOptions(options),
      select: (key, offset) => visitor.select(key, offset),
      onEntry: (key, value, offset) => visitor.onEntry(key, value as JsonValue, offset),
      ...(visitor.onOtherKey ? { onOtherKey: visitor.onOtherKey.bind(visitor) } : {}),
    });
    for (const chunk of chunks) stream.write(chunk);
    stream.end();
  });
}

function parseOptions(options: JsonReadOptions): JsonParseOptions {
  return {
    maxBytes: Number.POSITIVE_INFINITY, // files are bounded by maxBytesRead
    maxDepth: options.maxDepth,
    maxValues: options.maxValues ?? DEFAULT_MAX_VALUES,
    maxTextBytes: options.maxTextBytes ?? Number.POSITIVE_INFINITY,
    allowNonFinite: options.allowNonFinite ?? false,
    invalidUtf8: "replace", // judged as decoded; whether the bytes are UTF-8 is checked apart
    number: (raw) => new JsonNumber(raw),
    nullPrototype: true,
    duplicateKeys: options.duplicateKeys ?? "last",
    ...(options.onDuplicateKey ? { onDuplicateKey: options.onDuplicateKey } : {}),
  };
}

function guard<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof JsonError)) throw error;
    if (error.code === "JSON_INVALID") throw new MalformedError(`invalid JSON: ${error.message}`, error.position);
    throw new LimitError("json", `JSON document: ${error.message}`, error.position);
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
