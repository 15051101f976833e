import type { ScanContext } from "../context.js";
import type { Reporter } from "../findings.js";
import { Cursor } from "../io/cursor.js";
import { ScanError } from "../io/errors.js";
import type { RandomAccess } from "../io/random-access.js";
import { quote, utf8OrUndefined } from "../text.js";
import { JsonNumber, isJsonObject, readJsonEntries, type JsonValue } from "./json.js";

/**
 * safetensors, validated more strictly than the reference implementation
 * (huggingface/safetensors tensor.rs): header length cap, `{` first, UTF-8, no duplicate keys
 * at any depth, `__metadata__` strings only, known dtypes, exact integer shapes and offsets,
 * shape × dtype size = byte span, offsets contiguous from 0 with no gap or overlap, and the
 * last tensor ending exactly at the end of the file. Only the header is read.
 */

/** Bytes per element. Sub-byte types are counted in bits. */
const DTYPE_BITS: ReadonlyMap<string, number> = new Map([
  ["BOOL", 8],
  ["U8", 8],
  ["I8", 8],
  ["F8_E5M2", 8],
  ["F8_E4M3", 8],
  ["F8_E8M0", 8],
  ["I16", 16],
  ["U16", 16],
  ["F16", 16],
  ["BF16", 16],
  ["I32", 32],
  ["U32", 32],
  ["F32", 32],
  ["C64", 64],
  ["F64", 64],
  ["I64", 64],
  ["U64", 64],
  ["F4", 4],
  ["F6_E2M3", 6],
  ["F6_E3M2", 6],
]);

const TENSOR_FIELDS = new Set(["dtype", "shape", "data_offsets"]);

export interface SafetensorsFacts {
  readonly tensorNames: readonly string[];
}

/** A u64 header length below 2^48 followed by '{' (text files fail the zero high bytes). */
export function looksLikeSafetensors(head: Uint8Array): boolean {
  return head.length >= 9 && head[6] === 0 && head[7] === 0 && head[8] === 0x7b;
}

export function scanSafetensors(
  source: RandomAccess,
  reporter: Reporter,
  ctx: ScanContext,
): SafetensorsFacts | undefined {
  const invalid = (code: string, message: string, offset?: number): undefined => {
    reporter.report("INVALID", code, message, offset);
    return undefined;
  };
  if (source.size < 8)
    return invalid("SAFETENSORS_TRUNCATED", `file is ${source.size} bytes, shorter than the 8-byte header length`);
  const headerLength = new Cursor(source).u64("header length");
  if (headerLength > BigInt(ctx.limits.maxSafetensorsHeader)) {
    return invalid(
      "SAFETENSORS_HEADER_TOO_LARGE",
      `header length ${headerLength} exceeds ${ctx.limits.maxSafetensorsHeader} bytes`,
      0,
    );
  }
  const n = Number(headerLength);
  if (8 + n > source.size) {
    return invalid("SAFETENSORS_TRUNCATED", `header length ${n} runs past the end of the ${source.size}-byte file`, 0);
  }
  const headerBytes = source.read(8, n);
  const text = utf8OrUndefined(headerBytes);
  if (text === undefined) return invalid("SAFETENSORS_BAD_HEADER", "header is not valid UTF-8", 8);
  if (!text.startsWith("{")) return invalid("SAFETENSORS_BAD_HEADER", "header does not start with '{'", 8);
  // The writer pads the header to a multiple of 8 with spaces; nothing else may follow the JSON.
  let end = headerBytes.length;
  while (end > 0 && headerBytes[end - 1] === 0x20) end--;
  // Streamed: only each tensor's (begin, end) is kept, so a 100k-tensor header costs a few MiB.
  const tensors: Array<{ name: string; begin: bigint; end: bigint }> = [];
  const duplicates: string[] = [];
  const names = new Set<string>();
  let ok = true;
  try {
    readJsonEntries(
      [headerBytes.subarray(0, end)],
      {
        select: (key) => {
          if (names.has(key)) duplicates.push(key);
          names.add(key);
          return true;
        },
        onEntry: (key, value) => {
          if (key === "__metadata__") {
            if (!checkMetadata(value, reporter)) ok = false;
            return;
          }
          const tensor = checkTensor(key, value, reporter);
          if (tensor) tensors.push(tensor);
          else ok = false;
        },
      },
      { maxDepth: 16, onDuplicateKey: (key) => duplicates.push(key) },
    );
  } catch (error) {
    if (error instanceof ScanError)
      return invalid("SAFETENSORS_BAD_HEADER", `header: ${error.message}`, 8 + (error.offset ?? 0));
    throw error;
  }
  if (duplicates.length > 0) {
    return invalid(
      "SAFETENSORS_DUPLICATE_KEY",
      `header repeats key ${quote(duplicates[0]!)}: parsers disagree on which value wins`,
      8,
    );
  }
  if (!ok) return undefined;

  tensors.sort((a, b) => (a.begin < b.begin ? -1 : a.begin > b.begin ? 1 : a.end < b.end ? -1 : a.end > b.end ? 1 : 0));
  let expected = 0n;
  for (const tensor of tensors) {
    if (tensor.begin !== expected) {
      return invalid(
        tensor.begin < expected ? "SAFETENSORS_OVERLAP" : "SAFETENSORS_GAP",
        `tensor ${quote(tensor.name)} starts at ${tensor.begin}, expected ${expected}: ${tensor.begin < expected ? "overlaps the previous tensor" : "leaves a hole"}`,
      );
    }
    expected = tensor.end;
  }
  const dataLength = BigInt(source.size - 8 - n);
  if (expected !== dataLength) {
    return invalid(
      expected < dataLength ? "SAFETENSORS_TRAILING_DATA" : "SAFETENSORS_TRUNCATED",
      expected < dataLength
        ? `${dataLength - expected} bytes after the last tensor are not part of any tensor`
        : `tensors need ${expected} data bytes, the file has ${dataLength}`,
      8 + n,
    );
  }
  return { tensorNames: tensors.map((t) => t.name) };
}

function checkMetadata(value: JsonValue, reporter: Reporter): boolean {
  if (!isJsonObject(value)) {
    reporter.report("INVALID", "SAFETENSORS_BAD_METADATA", "__metadata__ is not an object of strings");
    return false;
  }
  let ok = true;
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== "string") {
      reporter.report("INVALID", "SAFETENSORS_BAD_METADATA", `__metadata__ value for ${quote(key)} is not a string`);
      ok = false;
    }
  }
  return ok;
}

function checkTensor(
  name: string,
  value: JsonValue,
  reporter: Reporter,
): { name: string; begin: bigint; end: bigint } | undefined {
  const fail = (message: string): undefined => {
    reporter.report("INVALID", "SAFETENSORS_BAD_TENSOR", `tensor ${quote(name)}: ${message}`);
    return undefined;
  };
  if (!isJsonObject(value)) return fail("entry is not an object");
  for (const field of Object.keys(value)) {
    if (!TENSOR_FIELDS.has(field)) {
      reporter.report("WARN", "SAFETENSORS_UNKNOWN_FIELD", `tensor ${quote(name)} has unknown field ${quote(field)}`);
    }
  }
  const dtype = value["dtype"];
  if (typeof dtype !== "string") return fail("dtype is missing or not a string");
  const bits = DTYPE_BITS.get(dtype);
  if (bits === undefined) {
    reporter.report("INVALID", "SAFETENSORS_UNKNOWN_DTYPE", `tensor ${quote(name)} has unknown dtype ${quote(dtype)}`);
    return undefined;
  }
  const shape = value["shape"];
  if (!Array.isArray(shape)) return fail("shape is missing or not an array");
  let elements = 1n;
  for (const dim of shape) {
    const size = dim instanceof JsonNumber ? dim.integer : undefined;
    if (size === undefined || size < 0n) return fail("shape holds something other than non-negative integers");
    elements *= size;
  }
  const offsets = value["data_offsets"];
  if (!Array.isArray(offsets) || offsets.length !== 2) return fail("data_offsets is not a pair");
  const [begin, end] = offsets.map((o) => (o instanceof JsonNumber ? o.integer : undefined));
  if (begin === undefined || end === undefined || begin < 0n || end < 0n) {
    return fail("data_offsets holds something other than non-negative integers");
  }
  if (end < begin) return fail(`data_offsets end ${end} is before begin ${begin}`);
  const totalBits = elements * BigInt(bits);
  if (totalBits % 8n !== 0n) return fail(`${elements} elements of ${dtype} do not fill whole bytes`);
  if (totalBits / 8n !== end - begin) {
    reporter.report(
      "INVALID",
      "SAFETENSORS_SIZE_MISMATCH",
      `tensor ${quote(name)}: shape ${JSON.stringify(shape.map((d) => (d instanceof JsonNumber ? d.raw : d)))} of ${dtype} is ${totalBits / 8n} bytes, data_offsets span ${end - begin}`,
    );
    return undefined;
  }
  return { name, begin, end };
}
