import type { FieldReader } from "../spec/fields.js";
import type { SourceAdapter } from "./adapter.js";
import { parseHuggingFaceSource, type HuggingFaceSource } from "./huggingface/spec.js";
import { parseOllamaSource, type OllamaSource } from "./ollama/spec.js";
import { parseS3Source, type S3Source } from "./s3/spec.js";
import { parseMlflowSource, type MlflowSource } from "./mlflow/spec.js";
import { parseHttpSource, type HttpSource } from "./http/spec.js";
import { parseGitLfsSource, type GitLfsSource } from "./git-lfs/spec.js";

/**
 * Every source the fetcher knows: how its spec is read, and (loaded on demand, so a
 * Hugging Face fetch never loads the S3 client) the adapter that resolves it.
 */
export type SourceSpec = HuggingFaceSource | OllamaSource | S3Source | MlflowSource | HttpSource | GitLfsSource;

export type SourceType = SourceSpec["type"];

interface SourceEntry {
  readonly parse: (reader: FieldReader) => SourceSpec;
  readonly loadAdapter: () => Promise<SourceAdapter<SourceSpec>>;
}

const sources: Record<SourceType, SourceEntry> = {
  huggingface: {
    parse: parseHuggingFaceSource,
    loadAdapter: async () => (await import("./huggingface/adapter.js")).huggingFaceAdapter as SourceAdapter<SourceSpec>,
  },
  ollama: {
    parse: parseOllamaSource,
    loadAdapter: async () => (await import("./ollama/adapter.js")).ollamaAdapter as SourceAdapter<SourceSpec>,
  },
  s3: {
    parse: parseS3Source,
    loadAdapter: async () => (await import("./s3/adapter.js")).s3Adapter as SourceAdapter<SourceSpec>,
  },
  mlflow: {
    parse: parseMlflowSource,
    loadAdapter: async () => (await import("./mlflow/adapter.js")).mlflowAdapter as SourceAdapter<SourceSpec>,
  },
  url: {
    parse: parseHttpSource,
    loadAdapter: async () => (await import("./http/adapter.js")).httpAdapter as SourceAdapter<SourceSpec>,
  },
  "git-lfs": {
    parse: parseGitLfsSource,
    loadAdapter: async () => (await import("./git-lfs/adapter.js")).gitLfsAdapter as SourceAdapter<SourceSpec>,
  },
};

export function parseSourceSpec(reader: FieldReader): SourceSpec {
  const type = reader.choice("type", Object.keys(sources) as SourceType[]);
  return sources[type].parse(reader);
}

export function loadSourceAdapter(type: SourceType): Promise<SourceAdapter<SourceSpec>> {
  return sources[type].loadAdapter();
}
