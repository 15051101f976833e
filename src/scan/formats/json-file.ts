import { type JsonEncoding, Utf8Transcoder, Utf8Validator, detectJsonEncoding } from "../../json/index.js";
import type { ScanContext } from "../context.js";
import type { Reporter } from "../findings.js";
import { LimitError, MalformedError, ScanError } from "../io/errors.js";
import type { RandomAccess } from "../io/random-access.js";
import { quote } from "../text.js";
import { type JsonValue, chunksOf, isJsonObject, readJson, readJsonEntries } from "./json.js";
import { type KerasContainer, checkKerasConfig, looksLikeKerasConfig } from "./keras.js";
import { checkChatTemplate } from "./template.js";

/**
 * JSON files next to the weights. Most are inert data (tokenizer.json, generation_config.json);
 * a few steer code: Keras configs name modules to import, `auto_map` and `custom_pipelines` make
 * transformers load the repo's Python files under trust_remote_code, chat templates are Jinja
 * programs, and a sharded checkpoint's index says which tensors live in which file.
 *
 * What counts is what Python's json module would hand those loaders, so every file is read in
 * full, decoded as json.loads decodes it (escapes in keys, UTF-16, a BOM), however large it is:
 * it is streamed, and only the members that matter are built. A key that appears twice is
 * judged in every occurrence, and values built with nested repeats are judged both ways (the
 * last value wins in Python, the first in some other parsers).
 */

export interface JsonFacts {
  /** "text" when the content only looked like JSON and no JSON parser would accept it. */
  readonly format: "json" | "text";
  /** The whole file parsed as JSON. */
  readonly valid: boolean;
  /** model.safetensors.index.json: tensor name → shard file. */
  readonly weightMap?: ReadonlyMap<string, string>;
}

/** Top-level members that make transformers import Python files from the repository. */
const REMOTE_CODE_KEYS: ReadonlyMap<string, string> = new Map([
  ["auto_map", "auto_map: transformers loads Python code from the model repository when trust_remote_code=True"],
  [
    "custom_pipelines",
    "custom_pipelines: transformers' pipeline() loads Python code from the model repository when trust_remote_code=True",
  ],
]);
const BUILT_KEYS: ReadonlySet<string> = new Set([...REMOTE_CODE_KEYS.keys(), "chat_template", "weight_map"]);
/** Top-level keys remembered to report repeats; past this, only the keys above are tracked. */
const MAX_TRACKED_KEYS = 100_000;
const MAX_DEPTH = 256;

/**
 * `{` followed by a key or `}`, or `[` followed by what can start a value or close the array:
 * enough to keep "[PAD]" vocabularies and "{{ ... }}" templates out.
 */
export function looksLikeJson(head: Uint8Array): boolean {
  const text = Buffer.from(head.buffer, head.byteOffset, head.length)
    .toString("latin1")
    .replace(/^\xef\xbb\xbf/, "");
  return /^\s*(?:\{\s*(?:["}]|$)|\[\s*(?:["{[\]\-0-9tfn]|$))/.test(text);
}

export function scanJsonFile(
  source: RandomAccess,
  name: string,
  reporter: Reporter,
  ctx: ScanContext,
  container: KerasContainer,
): JsonFacts {
  const baseName = name.split("/").pop() ?? name;
  const mustCheck = container === "keras-zip" || baseName === "config.json" || baseName.endsWith(".index.json");
  // Nothing to judge; a config a loader needs, though, is broken.
  if (source.size === 0 && !mustCheck) return { format: "json", valid: false };
  const json = new DecodedJson(source);
  let judged: JudgedView;
  try {
    judged = judgeView(json, "last", reporter, ctx, container);
    if (judged.nestedDuplicate) judgeView(json, "first", reporter, ctx, container);
  } catch (error) {
    if (!(error instanceof ScanError)) throw error;
    // Content sniffed as JSON that no JSON parser accepts is text (a TOML table starts with `[`);
    // a file loaders open as JSON, or one too large or deep to judge, is a finding.
    if (error instanceof MalformedError && !mustCheck && !/\.json$/i.test(baseName)) {
      return { format: "text", valid: false };
    }
    reporter.report(
      "INVALID",
      error instanceof LimitError ? "LIMIT_EXCEEDED" : "JSON_PARSE_ERROR",
      `${error.message}; the file is unverified`,
      json.fileOffset(error.offset),
    );
    return { format: "json", valid: false };
  }
  if (json.encoding !== "utf-8" && json.encoding !== "utf-8-sig") {
    reporter.report(
      mustCheck ? "INVALID" : "WARN",
      "JSON_NOT_UTF8",
      `JSON file is ${json.encoding.toUpperCase()}: Python's json.loads(bytes) reads it, transformers does not; checked as decoded`,
    );
  } else if (!json.validUtf8()) {
    reporter.report(
      mustCheck ? "INVALID" : "WARN",
      "JSON_NOT_UTF8",
      "JSON file is not valid UTF-8; checked with the invalid bytes replaced",
    );
  }
  if (judged.duplicateKey !== undefined) {
    reporter.report(
      "WARN",
      "JSON_DUPLICATE_KEY",
      `key ${quote(judged.duplicateKey)} appears twice in one object; JSON parsers disagree on which value wins`,
    );
  }
  return { format: "json", valid: true, ...weightMapFacts(judged.weightMap, reporter) };
}

interface JudgedView {
  /** The first key repeated within one object, at the top level or inside what was built. */
  readonly duplicateKey: string | undefined;
  /** A repeat inside a built value: the other parsers' view must be judged too. */
  readonly nestedDuplicate: boolean;
  readonly weightMap: JsonValue | undefined;
}

/**
 * Judges the document as a parser keeping `duplicates` of a repeated key would see it: every
 * top-level member that steers code as it streams past, then (for Keras configs) the whole tree.
 */
function judgeView(
  json: DecodedJson,
  duplicates: "last" | "first",
  reporter: Reporter,
  ctx: ScanContext,
  container: KerasContainer,
): JudgedView {
  const topLevel = new Set<string>();
  let duplicateKey: string | undefined;
  let nestedDuplicate = false;
  let sawClassName = false;
  let weightMap: JsonValue | undefined;
  const options = {
    maxDepth: MAX_DEPTH,
    allowNonFinite: true,
    maxTextBytes: ctx.limits.maxJsonBytes,
    duplicateKeys: duplicates,
    onDuplicateKey: (key: string) => {
      duplicateKey ??= key;
      nestedDuplicate = true;
    },
  };
  readJsonEntries(
    json.chunks(),
    {
      select: (key) => {
        if (key === "class_name") sawClassName = true;
        if (topLevel.has(key)) duplicateKey ??= key;
        else if (topLevel.size < MAX_TRACKED_KEYS || BUILT_KEYS.has(key)) topLevel.add(key);
        return BUILT_KEYS.has(key);
      },
      onEntry: (key, value, offset) => {
        if (key === "weight_map") weightMap = value;
        else if (key === "chat_template") checkTemplates(value, reporter, json.fileOffset(offset));
        else if (namesCode(value))
          reporter.report("WARN", "REMOTE_CODE", REMOTE_CODE_KEYS.get(key)!, json.fileOffset(offset));
      },
      onOtherKey: (key) => {
        if (key === "class_name") sawClassName = true;
      },
    },
    options,
  );
  // Keras configs name modules at any depth: build the whole tree (bounded by maxValues).
  if (container === "keras-zip" || sawClassName) {
    const tree = readJson(json.chunks(), options);
    if (container === "keras-zip" || looksLikeKerasConfig(tree)) checkKerasConfig(tree, container, reporter);
  }
  return { duplicateKey, nestedDuplicate, weightMap };
}

/** A file as Python's json.loads(bytes) decodes it, as UTF-8 chunks, readable more than once. */
class DecodedJson {
  readonly encoding: JsonEncoding;
  private readonly utf8 = new Utf8Validator();
  private reads = 0;

  constructor(private readonly source: RandomAccess) {
    this.encoding = detectJsonEncoding(source.read(0, 4).slice());
  }

  *chunks(): Generator<Uint8Array> {
    const validator = this.reads++ === 0 ? this.utf8 : undefined;
    const transcoder = new Utf8Transcoder(this.encoding);
    for (const chunk of chunksOf(this.source)) {
      validator?.push(chunk);
      yield transcoder.push(chunk);
    }
    yield transcoder.end();
  }

  /** Whether the bytes were valid UTF-8 (known once the first read is complete). */
  validUtf8(): boolean {
    return this.utf8.end();
  }

  /** An offset in the decoded text as one in the file, where the two line up. */
  fileOffset(offset: number | undefined): number | undefined {
    if (offset === undefined || this.encoding === "utf-8") return offset;
    return this.encoding === "utf-8-sig" ? offset + 3 : undefined;
  }
}

/** A string, list or mapping with something in it: what a loader could take a class name from. */
function namesCode(value: JsonValue): boolean {
  if (typeof value === "string" || Array.isArray(value)) return value.length > 0;
  return isJsonObject(value) && Object.keys(value).length > 0;
}

/**
 * chat_template is a string, a list of {name, template} (how transformers saves named templates)
 * or a mapping of name to template (how it holds them, and takes them from a processor's
 * chat_template.json). Every string in it is checked, whatever the shape.
 */
function checkTemplates(
  value: JsonValue,
  reporter: Reporter,
  offset: number | undefined,
  label = "chat_template",
): void {
  if (typeof value === "string") {
    checkChatTemplate(value, label, reporter, offset);
  } else if (Array.isArray(value)) {
    for (const item of value) {
      const name = isJsonObject(item) && typeof item["name"] === "string" ? item["name"] : undefined;
      checkTemplates(item, reporter, offset, name === undefined ? label : `chat_template ${quote(name)}`);
    }
  } else if (isJsonObject(value)) {
    for (const [name, item] of Object.entries(value)) {
      checkTemplates(item, reporter, offset, name === "template" ? label : `chat_template ${quote(name)}`);
    }
  }
}

function weightMapFacts(weightMap: JsonValue | undefined, reporter: Reporter): { weightMap?: Map<string, string> } {
  if (!isJsonObject(weightMap)) return {};
  const map = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(weightMap)) {
    if (typeof shard === "string") map.set(tensor, shard);
    else reporter.report("INVALID", "INDEX_BAD_ENTRY", `weight_map entry ${quote(tensor)} is not a file name`);
  }
  return { weightMap: map };
}
