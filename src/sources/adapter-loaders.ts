import type { SourceAdapter } from "./adapter.js";
import type { SourceSpec, SourceType } from "./registry.js";

/** How each source's adapter is loaded, by source type. */
export type AdapterLoaders = {
  readonly [T in SourceType]: () => Promise<SourceAdapter<Extract<SourceSpec, { readonly type: T }>>>;
};

/**
 * One dynamic import per adapter: a command that uses one source loads none of the others,
 * and a Hugging Face fetch never loads the S3 client. The fetch bundle (dist/fetch/) builds
 * with adapter-loaders-fetch.ts in this module's place (scripts/bundle.mjs says why).
 */
export const adapterLoaders: AdapterLoaders = {
  huggingface: async () => (await import("./huggingface/adapter.js")).huggingFaceAdapter,
  ollama: async () => (await import("./ollama/adapter.js")).ollamaAdapter,
  s3: async () => (await import("./s3/adapter.js")).s3Adapter,
  mlflow: async () => (await import("./mlflow/adapter.js")).mlflowAdapter,
  url: async () => (await import("./http/adapter.js")).httpAdapter,
  "git-lfs": async () => (await import("./git-lfs/adapter.js")).gitLfsAdapter,
  "git-xet": async () => (await import("./git-xet/adapter.js")).gitXetAdapter,
};
