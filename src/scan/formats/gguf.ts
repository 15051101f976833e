import type { ScanContext } from "../context.js";
import type { Reporter } from "../findings.js";
import { Cursor } from "../io/cursor.js";
import { MalformedError, ScanError } from "../io/errors.js";
import type { RandomAccess } from "../io/random-access.js";
import { quote, utf8Lossy } from "../text.js";
import { GGML_TYPES, UNQUANTIZED_TYPES } from "./ggml-types.js";
import { checkChatTemplate } from "./template.js";

/**
 * GGUF (ggml docs/gguf.md) walked with a bounded reader: counts are checked against the bytes
 * left before anything is allocated, every metadata value type is known, arrays nest at most
 * MAX_ARRAY_DEPTH deep, tensor infos have known types, sizes and aligned, in-bounds,
 * sequential offsets (as ggml's own loader requires). Only the header is read; tensor data is
 * checked by arithmetic. Then content policy: the chat templates.
 */

const MAGIC = [0x47, 0x47, 0x55, 0x46]; // "GGUF"
const MAX_KEY_LENGTH = 65535;
const MAX_TENSOR_NAME = 63; // GGML_MAX_NAME - 1
const MAX_DIMS = 4;
const MAX_ARRAY_DEPTH = 8;
const MAX_KEPT_STRING = 4 * 1024 * 1024;
const DEFAULT_ALIGNMENT = 32;

const ValueType = {
  U8: 0,
  I8: 1,
  U16: 2,
  I16: 3,
  U32: 4,
  I32: 5,
  F32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  U64: 10,
  I64: 11,
  F64: 12,
} as const;

const FIXED_SIZES: ReadonlyMap<number, number> = new Map<number, number>([
  [ValueType.U8, 1],
  [ValueType.I8, 1],
  [ValueType.U16, 2],
  [ValueType.I16, 2],
  [ValueType.U32, 4],
  [ValueType.I32, 4],
  [ValueType.F32, 4],
  [ValueType.BOOL, 1],
  [ValueType.U64, 8],
  [ValueType.I64, 8],
  [ValueType.F64, 8],
]);

export function looksLikeGguf(head: Uint8Array): boolean {
  return head.length >= 4 && MAGIC.every((b, i) => head[i] === b);
}

interface KeptValue {
  readonly type: number;
  readonly number?: number;
  readonly text?: string;
  readonly truncated?: boolean;
  readonly offset: number;
}

export function scanGguf(source: RandomAccess, reporter: Reporter, _ctx: ScanContext): void {
  try {
    walk(source, reporter);
  } catch (error) {
    if (!(error instanceof ScanError)) throw error;
    reporter.report("INVALID", "GGUF_MALFORMED", `GGUF header: ${error.message}`, error.offset);
  }
}

function walk(source: RandomAccess, reporter: Reporter): void {
  const c = new Cursor(source);
  if (!looksLikeGguf(c.bytes(Math.min(4, source.size), "magic"))) throw new MalformedError("no GGUF magic", 0);
  let version = c.u32("version");
  if (version > 0xffff) {
    // Big-endian files cannot be told apart from their bytes except by a swapped version.
    c.littleEndian = false;
    c.pos = 4;
    version = c.u32("version");
  }
  if (version === 1) throw new MalformedError("GGUF version 1 is no longer loadable (32-bit counts)", 4);
  if (version !== 2 && version !== 3) throw new MalformedError(`unknown GGUF version ${version}`, 4);
  const tensorCount = c.u64("tensor count");
  const kvCount = c.u64("metadata count");
  // Every KV needs at least 8 (key length) + 4 (type) + 1 bytes; every tensor info 8+4+4+8.
  if (kvCount > BigInt(Math.floor(c.remaining / 13))) {
    throw new MalformedError(`metadata count ${kvCount} cannot fit in the ${c.remaining} bytes left`, 16);
  }
  if (tensorCount > BigInt(Math.floor(c.remaining / 24))) {
    throw new MalformedError(`tensor count ${tensorCount} cannot fit in the ${c.remaining} bytes left`, 8);
  }

  const kept = new Map<string, KeptValue>();
  const seenKeys = new Set<string>();
  for (let i = 0n; i < kvCount; i++) {
    const at = c.pos;
    const key = readString(c, MAX_KEY_LENGTH, "metadata key").text;
    if (seenKeys.has(key)) throw new MalformedError(`duplicate metadata key ${quote(key)}`, at);
    seenKeys.add(key);
    const type = c.u32("value type");
    const value = readValue(c, type, 0, wantsValue(key));
    if (value) kept.set(key, value);
  }

  let alignment = DEFAULT_ALIGNMENT;
  const alignmentValue = kept.get("general.alignment");
  if (alignmentValue) {
    const a = alignmentValue.number;
    if (alignmentValue.type !== ValueType.U32 || a === undefined || a === 0 || (a & (a - 1)) !== 0) {
      throw new MalformedError("general.alignment must be a non-zero power of two (u32)", alignmentValue.offset);
    }
    alignment = a;
  }
  const architecture = kept.get("general.architecture");
  if (!architecture || architecture.type !== ValueType.STRING) {
    reporter.report("WARN", "GGUF_NO_ARCHITECTURE", "general.architecture is missing; llama.cpp refuses such files");
  }

  const names = new Set<string>();
  const tensors: Array<{ name: string; offset: bigint; size: bigint; at: number; quantized: boolean }> = [];
  for (let i = 0n; i < tensorCount; i++) {
    const at = c.pos;
    const name = readString(c, MAX_TENSOR_NAME, "tensor name").text;
    if (names.has(name)) throw new MalformedError(`duplicate tensor name ${quote(name)}`, at);
    names.add(name);
    const nDims = c.u32("tensor dimensions");
    if (nDims > MAX_DIMS)
      throw new MalformedError(`tensor ${quote(name)} has ${nDims} dimensions (max ${MAX_DIMS})`, at);
    let elements = 1n;
    let first = 1n;
    for (let d = 0; d < nDims; d++) {
      const dim = c.u64("tensor dimension");
      if (dim > BigInt(Number.MAX_SAFE_INTEGER))
        throw new MalformedError(`tensor ${quote(name)} dimension ${dim} is absurd`, at);
      if (d === 0) first = dim;
      elements *= dim;
    }
    const typeCode = c.u32("tensor type");
    const type = GGML_TYPES.get(typeCode);
    if (!type) throw new MalformedError(`tensor ${quote(name)} has unknown ggml type ${typeCode}`, at);
    const [typeName, blockElements, blockBytes] = type;
    if (first % BigInt(blockElements) !== 0n) {
      throw new MalformedError(
        `tensor ${quote(name)}: first dimension ${first} is not a multiple of the ${typeName} block (${blockElements})`,
        at,
      );
    }
    const offset = c.u64("tensor offset");
    tensors.push({
      name,
      offset,
      size: (elements / BigInt(blockElements)) * BigInt(blockBytes),
      at,
      quantized: !UNQUANTIZED_TYPES.has(typeCode),
    });
  }
  if (tensors.some((t) => t.quantized) && !kept.has("general.quantization_version")) {
    reporter.report("WARN", "GGUF_NO_QUANTIZATION_VERSION", "quantized tensors without general.quantization_version");
  }

  const dataStart = BigInt(Math.ceil(c.pos / alignment) * alignment);
  const fileSize = BigInt(source.size);
  if (tensors.length > 0 && dataStart > fileSize) {
    throw new MalformedError(`tensor data would start at ${dataStart}, past the end of the file`, c.pos);
  }
  // ggml lays tensors out in order, each padded to the alignment, and rejects anything else.
  let expected = 0n;
  const align = BigInt(alignment);
  for (const tensor of tensors) {
    if (tensor.offset % align !== 0n) {
      throw new MalformedError(
        `tensor ${quote(tensor.name)} offset ${tensor.offset} is not aligned to ${alignment}`,
        tensor.at,
      );
    }
    if (tensor.offset !== expected) {
      throw new MalformedError(
        `tensor ${quote(tensor.name)} offset ${tensor.offset}, expected ${expected} (overlap or hole in tensor data)`,
        tensor.at,
      );
    }
    if (dataStart + tensor.offset + tensor.size > fileSize) {
      throw new MalformedError(
        `tensor ${quote(tensor.name)} (${tensor.size} bytes at ${tensor.offset}) runs past the end of the file`,
        tensor.at,
      );
    }
    expected = tensor.offset + ((tensor.size + align - 1n) / align) * align;
  }

  for (const [key, value] of kept) {
    if (isTemplateKey(key) && value.text !== undefined) {
      if (value.truncated)
        reporter.report(
          "WARN",
          "GGUF_TEMPLATE_TRUNCATED",
          `${key} is larger than ${MAX_KEPT_STRING} bytes; only its start was checked`,
        );
      checkChatTemplate(value.text, key, reporter, value.offset);
    }
  }
}

function isTemplateKey(key: string): boolean {
  return key === "tokenizer.chat_template" || key.startsWith("tokenizer.chat_template.");
}

function wantsValue(key: string): boolean {
  return key.startsWith("general.") || isTemplateKey(key);
}

function readString(c: Cursor, maxLength: number, what: string): { text: string; truncated: boolean } {
  const at = c.pos;
  const length = c.u64n(`${what} length`);
  if (length > maxLength) throw new MalformedError(`${what} is ${length} bytes (max ${maxLength})`, at);
  return { text: utf8Lossy(c.bytes(length, what)), truncated: false };
}

function readValue(c: Cursor, type: number, depth: number, keep: boolean): KeptValue | undefined {
  const at = c.pos;
  const fixed = FIXED_SIZES.get(type);
  if (fixed !== undefined) {
    if (type === ValueType.BOOL) {
      const b = c.u8("bool");
      if (b > 1) throw new MalformedError(`bool value ${b} is neither 0 nor 1`, at);
      return keep ? { type, number: b, offset: at } : undefined;
    }
    if (keep && type === ValueType.U32) return { type, number: c.u32(), offset: at };
    c.skip(fixed, "value");
    return keep ? { type, offset: at } : undefined;
  }
  if (type === ValueType.STRING) {
    const length = c.u64n("string length");
    c.need(length, "string");
    if (!keep) {
      c.skip(length);
      return undefined;
    }
    const keptLength = Math.min(length, MAX_KEPT_STRING);
    const text = utf8Lossy(c.bytes(keptLength));
    c.skip(length - keptLength);
    return { type, text, truncated: keptLength < length, offset: at };
  }
  if (type === ValueType.ARRAY) {
    if (depth >= MAX_ARRAY_DEPTH) throw new MalformedError(`arrays nested deeper than ${MAX_ARRAY_DEPTH}`, at);
    const elementType = c.u32("array element type");
    const count = c.u64("array length");
    const elementFixed = FIXED_SIZES.get(elementType);
    const minimum =
      elementFixed ?? (elementType === ValueType.STRING ? 8 : elementType === ValueType.ARRAY ? 12 : undefined);
    if (minimum === undefined) throw new MalformedError(`unknown array element type ${elementType}`, at);
    if (count > BigInt(Math.floor(c.remaining / minimum))) {
      throw new MalformedError(`array of ${count} elements cannot fit in the ${c.remaining} bytes left`, at);
    }
    const n = Number(count);
    if (elementFixed !== undefined && elementType !== ValueType.BOOL) {
      c.skip(n * elementFixed, "array");
    } else if (elementType === ValueType.STRING) {
      for (let i = 0; i < n; i++) c.skip(c.u64n("string length"), "string");
    } else {
      for (let i = 0; i < n; i++) readValue(c, elementType, depth + 1, false);
    }
    return keep ? { type, offset: at } : undefined;
  }
  throw new MalformedError(`unknown metadata value type ${type}`, at);
}
