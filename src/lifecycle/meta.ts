import { lstatSync } from "node:fs";
import { lstat, readFile } from "node:fs/promises";
import { join } from "node:path";
import { JsonError, parseJson } from "../json/index.js";
import { META_FILE, META_FORMAT_VERSION, type MetaFile, type ModelMeta } from "../model/meta.js";
import { canonicalJson } from "../util/canonical-json.js";

/**
 * Reading a model's `.nix-model-repo-meta.json` back from the store, for `list`, `info`,
 * `gc` and `verify`. Anything in the store may carry a file of that name — written by us,
 * by an older or newer nix-model-repo, or by someone who wants `list` to misbehave — so it
 * is read as untrusted: only a regular file (not a symlink to /dev/zero), at most
 * MAX_META_BYTES, parsed with bounded depth, narrowed field by field. A file that fails is
 * reported with the reason and the model left out; it never stops the command. Its
 * strings are kept as they are and escaped when printed (print.ts).
 */

/** A meta file of 100,000 files is about 15 MiB; past this it is not one of ours. */
export const MAX_META_BYTES = 64 * 1024 * 1024;
const MAX_DEPTH = 32;

export interface StoredMeta extends ModelMeta {
  /** The validation phase's report (validated outputs only). */
  readonly validation: ValidationSummary | null;
  /**
   * The meta without the report, in canonical JSON: equal for a fetchModel output and a
   * fromLock output of the same source, revision and files (lockfile entryMeta).
   */
  readonly identity: string;
}

export interface ValidationSummary {
  readonly result: string;
  readonly preset: string | null;
  readonly validators: readonly ValidatorSummary[];
}

export interface ValidatorSummary {
  readonly name: string;
  readonly status: string;
  readonly findings: readonly { readonly file: string | null; readonly reason: string }[];
  readonly findingsOmitted: number;
}

export type MetaReading =
  | { readonly kind: "none" }
  | { readonly kind: "meta"; readonly meta: StoredMeta }
  | { readonly kind: "unreadable"; readonly why: string };

/**
 * Whether `directory` has an entry named like the meta file, by one synchronous lstat: a
 * store path that is a file, or a folder without one, costs a failed system call, not a
 * round trip through the thread pool (`list` asks this of every path the roots keep).
 */
export function hasMetaFile(directory: string): boolean {
  try {
    return lstatSync(join(directory, META_FILE), { throwIfNoEntry: false }) !== undefined;
  } catch {
    // ENOTDIR (the store path is a file), EACCES: not a model list can read.
    return false;
  }
}

/** The meta file of `directory`: none, a checked meta, or why it cannot be used. */
export async function readStoredMeta(directory: string): Promise<MetaReading> {
  const file = join(directory, META_FILE);
  let info: Awaited<ReturnType<typeof lstat>>;
  try {
    info = await lstat(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return { kind: "none" };
    return { kind: "unreadable", why: `${META_FILE} cannot be read (${code ?? String(error)})` };
  }
  if (!info.isFile()) return { kind: "unreadable", why: `${META_FILE} is not a regular file` };
  if (info.size > MAX_META_BYTES)
    return { kind: "unreadable", why: `${META_FILE} is ${info.size} bytes, more than a meta file can be` };
  let json: unknown;
  try {
    json = parseJson(await readFile(file), { maxBytes: MAX_META_BYTES, maxDepth: MAX_DEPTH });
  } catch (error) {
    if (error instanceof JsonError)
      return { kind: "unreadable", why: `${META_FILE} is not valid JSON: ${error.message}` };
    return { kind: "unreadable", why: `${META_FILE} cannot be read (${(error as NodeJS.ErrnoException).code})` };
  }
  try {
    return { kind: "meta", meta: narrowMeta(json) };
  } catch (error) {
    if (error instanceof MetaShapeError) return { kind: "unreadable", why: `${META_FILE} ${error.message}` };
    throw error;
  }
}

class MetaShapeError extends Error {}

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function narrowMeta(json: unknown): StoredMeta {
  const root = record(json, "is not a JSON object");
  if (root["formatVersion"] !== META_FORMAT_VERSION)
    throw new MetaShapeError(
      `has formatVersion ${short(root["formatVersion"])}; this nix-model-repo reads ${META_FORMAT_VERSION}`,
    );
  const layout = root["layout"];
  if (layout !== "huggingface" && layout !== "ollama")
    throw new MetaShapeError(`names an unknown layout ${short(layout)}`);
  const source = record(root["source"], "has no source object");
  if (typeof source["type"] !== "string") throw new MetaShapeError("has a source without a type");
  const resolvedValue = record(root["resolved"], "has no resolved object");
  const resolved: Record<string, string> = {};
  for (const [key, value] of Object.entries(resolvedValue)) {
    if (typeof value !== "string") throw new MetaShapeError(`has resolved.${key} that is not a string`);
    resolved[key] = value;
  }
  const filesValue = root["files"];
  if (!Array.isArray(filesValue)) throw new MetaShapeError("has no files list");
  const files: MetaFile[] = filesValue.map((value, index) => {
    const file = record(value, `has files[${index}] that is not an object`);
    const { path, size, sha256 } = file;
    if (typeof path !== "string" || path === "") throw new MetaShapeError(`has files[${index}] without a path`);
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0)
      throw new MetaShapeError(`has files[${index}] with a size that is not a byte count`);
    if (typeof sha256 !== "string" || !SHA256_HEX.test(sha256))
      throw new MetaShapeError(`has files[${index}] with a sha256 that is not 64 hex digits`);
    return { path, size, sha256 };
  });
  const core: ModelMeta = { formatVersion: META_FORMAT_VERSION, layout, source, resolved, files };
  const validation = root["validation"] === undefined ? null : narrowValidation(root["validation"]);
  return { ...core, validation, identity: canonicalJson(core) };
}

function narrowValidation(value: unknown): ValidationSummary {
  const report = record(value, "has a validation report that is not an object");
  const result = report["result"];
  if (typeof result !== "string") throw new MetaShapeError("has a validation report without a result");
  const preset = typeof report["preset"] === "string" ? report["preset"] : null;
  const validatorsValue = Array.isArray(report["validators"]) ? report["validators"] : [];
  const validators = validatorsValue.map((item, index): ValidatorSummary => {
    const validator = record(item, `has validation.validators[${index}] that is not an object`);
    const findingsValue = Array.isArray(validator["findings"]) ? validator["findings"] : [];
    return {
      name: typeof validator["name"] === "string" ? validator["name"] : `#${index + 1}`,
      status: typeof validator["status"] === "string" ? validator["status"] : "unknown",
      findings: findingsValue.flatMap((finding) => {
        if (typeof finding !== "object" || finding === null) return [];
        const { file, reason } = finding as Record<string, unknown>;
        return typeof reason === "string" ? [{ file: typeof file === "string" ? file : null, reason }] : [];
      }),
      findingsOmitted:
        typeof validator["findingsOmitted"] === "number" && Number.isSafeInteger(validator["findingsOmitted"])
          ? validator["findingsOmitted"]
          : 0,
    };
  });
  return { result, preset, validators };
}

function record(value: unknown, why: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new MetaShapeError(why);
  return value as Record<string, unknown>;
}

/** A value for a message: short, whatever it is. */
function short(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
