import type { ScanContext } from "../context.js";
import type { Reporter } from "../findings.js";
import { LimitError, ScanError } from "../io/errors.js";
import type { RandomAccess } from "../io/random-access.js";
import { quote, utf8OrUndefined } from "../text.js";
import { isJsonObject, parseJson, parseJsonObjectEntries, type JsonValue } from "./json.js";
import { checkKerasConfig, looksLikeKerasConfig, type KerasContainer } from "./keras.js";
import { checkChatTemplate } from "./template.js";

/**
 * JSON files next to the weights. Most are inert data (tokenizer.json, generation_config.json);
 * a few steer code: Keras configs name modules to import, `auto_map` in a Hugging Face config
 * makes trust_remote_code load the repo's Python files, chat templates are Jinja programs, and
 * a sharded checkpoint's index says which tensors live in which file.
 */

export interface JsonFacts {
  /** model.safetensors.index.json: tensor name → shard file. */
  readonly weightMap?: ReadonlyMap<string, string>;
}

/** Only these are parsed whole; other JSON is recognised and left alone (a tokenizer.json can be 30 MiB). */
const TRIGGERS = ['"class_name"', '"chat_template"', '"auto_map"', '"weight_map"', '"module"'];

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
  if (source.size > ctx.limits.maxJsonBytes) {
    if (mustCheck)
      reporter.report("INVALID", "JSON_TOO_LARGE", `${source.size} bytes is more than maxJsonBytes; not checked`);
    return {};
  }
  const bytes = source.read(0, source.size);
  const text = utf8OrUndefined(bytes);
  if (text === undefined) {
    reporter.report(mustCheck ? "INVALID" : "WARN", "JSON_NOT_UTF8", "JSON file is not valid UTF-8");
    return {};
  }
  if (!mustCheck && !TRIGGERS.some((trigger) => text.includes(trigger))) return {};
  const duplicates: string[] = [];
  const options = { allowNonFinite: true, maxDepth: 256, onDuplicateKey: (key: string) => duplicates.push(key) };
  const topLevel = new Map<string, JsonValue>();
  try {
    const body = text.replace(/^\uFEFF/, "");
    if (container === "keras-zip" || text.includes('"class_name"') || /^\s*\[/.test(body)) {
      // Keras configs name modules at any depth: build the tree (bounded by maxValues).
      const value = parseJson(body, options);
      if (container === "keras-zip" || looksLikeKerasConfig(value)) checkKerasConfig(value, container, reporter);
      if (isJsonObject(value)) for (const key of TOP_LEVEL_KEYS) if (key in value) topLevel.set(key, value[key]!);
    } else {
      // Everything else: only the few top-level keys that steer code are built.
      parseJsonObjectEntries(
        body,
        (key, _offset, value, skip) => (TOP_LEVEL_KEYS.has(key) ? topLevel.set(key, value()) : skip()),
        options,
      );
    }
  } catch (error) {
    if (!(error instanceof ScanError)) throw error;
    reporter.report(
      "INVALID",
      error instanceof LimitError ? "LIMIT_EXCEEDED" : "JSON_PARSE_ERROR",
      error.message,
      error.offset,
    );
    return {};
  }
  if (duplicates.length > 0) {
    reporter.report(
      "WARN",
      "JSON_DUPLICATE_KEY",
      `key ${quote(duplicates[0]!)} appears twice in one object; JSON parsers disagree on which value wins`,
    );
  }
  if (isJsonObject(topLevel.get("auto_map"))) {
    reporter.report(
      "WARN",
      "REMOTE_CODE",
      "auto_map: transformers loads Python code from the model repository when trust_remote_code=True",
    );
  }
  checkTemplates(topLevel.get("chat_template"), reporter);
  const weightMap = topLevel.get("weight_map");
  if (isJsonObject(weightMap)) {
    const map = new Map<string, string>();
    for (const [tensor, shard] of Object.entries(weightMap)) {
      if (typeof shard === "string") map.set(tensor, shard);
      else reporter.report("INVALID", "INDEX_BAD_ENTRY", `weight_map entry ${quote(tensor)} is not a file name`);
    }
    return { weightMap: map };
  }
  return {};
}

const TOP_LEVEL_KEYS: ReadonlySet<string> = new Set(["auto_map", "chat_template", "weight_map"]);

/** chat_template is a string, or a list of {name, template} (named templates). */
function checkTemplates(value: JsonValue | undefined, reporter: Reporter): void {
  if (typeof value === "string") checkChatTemplate(value, "chat_template", reporter);
  else if (Array.isArray(value)) {
    for (const item of value) {
      if (isJsonObject(item) && typeof item["template"] === "string") {
        const label = typeof item["name"] === "string" ? `chat_template ${quote(item["name"])}` : "chat_template";
        checkChatTemplate(item["template"], label, reporter);
      }
    }
  }
}
