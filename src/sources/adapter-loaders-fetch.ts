import type { AdapterLoaders } from "./adapter-loaders.js";
import { httpAdapter } from "./http/adapter.js";
import { huggingFaceAdapter } from "./huggingface/adapter.js";
import { ollamaAdapter } from "./ollama/adapter.js";

/**
 * adapter-loaders.ts as the fetch bundle (dist/fetch/) has it; scripts/bundle.mjs builds that
 * bundle with this module in its place. The light adapters are in the bundle's main file; the
 * ones that load the AWS SDK or run git come from one module, on demand. One dynamic import
 * per adapter would have esbuild write a chunk for every set of adapters sharing code, each a
 * file every fetch resolves and loads (docs/bench.md, "Third round").
 */
const sdkAndGitAdapters = () => import("./sdk-and-git-adapters.js");

export const adapterLoaders: AdapterLoaders = {
  huggingface: async () => huggingFaceAdapter,
  ollama: async () => ollamaAdapter,
  url: async () => httpAdapter,
  s3: async () => (await sdkAndGitAdapters()).s3Adapter,
  mlflow: async () => (await sdkAndGitAdapters()).mlflowAdapter,
  "git-lfs": async () => (await sdkAndGitAdapters()).gitLfsAdapter,
  "git-xet": async () => (await sdkAndGitAdapters()).gitXetAdapter,
};
