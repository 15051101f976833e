/**
 * Bounded and streaming JSON for untrusted input: API replies (parseJson, JsonArrayStream) and
 * model files (JsonEntryStream, encoding detection as Python's json does it). A leaf module: it
 * imports nothing else from the project.
 */
export { type JsonBuildOptions, ValueBuilder } from "./builder.js";
export { type JsonEncoding, Utf8Transcoder, Utf8Validator, detectJsonEncoding } from "./encoding.js";
export { JsonError, type JsonErrorCode } from "./errors.js";
export {
  JSON_BODY_DEFAULTS,
  type JsonParseOptions,
  JsonValueStream,
  parseJson,
  parseJsonChunks,
  parseJsonPrefix,
} from "./parse.js";
export {
  JsonArrayStream,
  type JsonArrayStreamOptions,
  type JsonArrayStreamResult,
  JsonEntryStream,
  type JsonEntryStreamOptions,
  type JsonStreamOptions,
  STREAM_PART_DEFAULTS,
} from "./streams.js";
export { type JsonEvents, JsonTokenizer, type JsonTokenizerOptions } from "./tokenizer.js";
