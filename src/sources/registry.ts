import type { FieldReader } from "../spec/fields.js";
import type { SourceAdapter } from "./adapter.js";
import { adapterLoaders } from "./adapter-loaders.js";
import { gitLfsPrefetch } from "./git-lfs/prefetch-target.js";
import { parseGitLfsSource, type GitLfsSource } from "./git-lfs/spec.js";
import { gitXetPrefetch } from "./git-xet/prefetch-target.js";
import { parseGitXetSource, type GitXetSource } from "./git-xet/spec.js";
import { httpPrefetch } from "./http/prefetch-target.js";
import { parseHttpSource, type HttpSource } from "./http/spec.js";
import { huggingFacePrefetch } from "./huggingface/prefetch-target.js";
import { parseHuggingFaceSource, type HuggingFaceSource } from "./huggingface/spec.js";
import { mlflowPrefetch } from "./mlflow/prefetch-target.js";
import { parseMlflowSource, type MlflowSource } from "./mlflow/spec.js";
import { ollamaPrefetch } from "./ollama/prefetch-target.js";
import { parseOllamaSource, type OllamaSource } from "./ollama/spec.js";
import type { PrefetchScheme } from "./prefetch-target.js";
import { s3Prefetch } from "./s3/prefetch-target.js";
import { parseS3Source, type S3Source } from "./s3/spec.js";

/**
 * Every source the fetcher knows, each defined once: how its spec block is read, the
 * adapter that resolves it (loaded on demand: adapter-loaders.ts), and how `prefetch` reads
 * its targets. A new source is one entry here and one in each adapter-loaders*.ts.
 */
export type SourceSpec =
  | HuggingFaceSource
  | OllamaSource
  | S3Source
  | MlflowSource
  | HttpSource
  | GitLfsSource
  | GitXetSource;

export type SourceType = SourceSpec["type"];

interface SourceDefinition<S extends SourceSpec> {
  readonly parse: (reader: FieldReader) => S;
  readonly loadAdapter: () => Promise<SourceAdapter<S>>;
  readonly prefetch: PrefetchScheme;
}

/** A definition with its spec type erased, once, here: the registry hands each adapter only its own specs. */
interface ErasedSource {
  readonly parse: (reader: FieldReader) => SourceSpec;
  readonly loadAdapter: () => Promise<SourceAdapter<SourceSpec>>;
  readonly prefetch: PrefetchScheme;
}

function erase<T extends SourceType, S extends SourceSpec & { readonly type: T }>(
  type: T,
  definition: SourceDefinition<S>,
): ErasedSource {
  const own = (spec: SourceSpec): S => {
    if (spec.type !== type) throw new TypeError(`internal error: a ${spec.type} spec given to the ${type} adapter`);
    return spec as S;
  };
  return {
    parse: definition.parse,
    prefetch: definition.prefetch,
    loadAdapter: async () => {
      const adapter = await definition.loadAdapter();
      return {
        describe: (spec) => adapter.describe(own(spec)),
        resolve: (spec, context) => adapter.resolve(own(spec), context),
      };
    },
  };
}

/** In the order `prefetch --help` lists their targets. */
const SOURCES: { readonly [T in SourceType]: ErasedSource } = {
  huggingface: erase("huggingface", {
    parse: parseHuggingFaceSource,
    loadAdapter: adapterLoaders.huggingface,
    prefetch: huggingFacePrefetch,
  }),
  ollama: erase("ollama", {
    parse: parseOllamaSource,
    loadAdapter: adapterLoaders.ollama,
    prefetch: ollamaPrefetch,
  }),
  s3: erase("s3", {
    parse: parseS3Source,
    loadAdapter: adapterLoaders.s3,
    prefetch: s3Prefetch,
  }),
  mlflow: erase("mlflow", {
    parse: parseMlflowSource,
    loadAdapter: adapterLoaders.mlflow,
    prefetch: mlflowPrefetch,
  }),
  url: erase("url", {
    parse: parseHttpSource,
    loadAdapter: adapterLoaders.url,
    prefetch: httpPrefetch,
  }),
  "git-lfs": erase("git-lfs", {
    parse: parseGitLfsSource,
    loadAdapter: adapterLoaders["git-lfs"],
    prefetch: gitLfsPrefetch,
  }),
  "git-xet": erase("git-xet", {
    parse: parseGitXetSource,
    loadAdapter: adapterLoaders["git-xet"],
    prefetch: gitXetPrefetch,
  }),
};

export function parseSourceSpec(reader: FieldReader): SourceSpec {
  const type = reader.choice("type", Object.keys(SOURCES) as SourceType[]);
  return SOURCES[type].parse(reader);
}

export function loadSourceAdapter(type: SourceType): Promise<SourceAdapter<SourceSpec>> {
  return SOURCES[type].loadAdapter();
}

/** How `prefetch` reads each source's targets (hf:org/name, s3://bucket/prefix, ...). */
export const PREFETCH_SCHEMES: readonly PrefetchScheme[] = Object.values(SOURCES).map((source) => source.prefetch);
