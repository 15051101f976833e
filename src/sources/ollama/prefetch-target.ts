import { SpecFailure } from "../../errors/failures.js";
import { UserError } from "../../errors/user-error.js";
import type { PrefetchScheme } from "../prefetch-target.js";
import { InvalidOllamaName, parseOllamaName, type OllamaName } from "./name.js";
import { checkRegistryEndpoint } from "./spec.js";

/**
 * `ollama:<name>` with the name exactly as `ollama pull` takes it: `ollama:llama3.2:1b`,
 * `ollama:http://localhost:5000/library/tiny:1`. --endpoint fetches from a mirror.
 */
export const ollamaPrefetch: PrefetchScheme = {
  prefixes: ["ollama"],
  example: "ollama:[http(s)://][host/][namespace/]model[:tag] [--endpoint URL]",
  parse(rest, flags) {
    const usage = (what: string, fix: string) => new UserError({ what, fix: [fix] }, { exitCode: 2 });
    let name: OllamaName;
    try {
      name = parseOllamaName(rest);
    } catch (error) {
      if (!(error instanceof InvalidOllamaName)) throw error;
      throw usage(
        `Cannot read the Ollama target 'ollama:${rest}': ${error.message}`,
        "Write it as ollama pull takes it, e.g. ollama:llama3.2:1b or ollama:host:port/namespace/model:tag.",
      );
    }
    if (flags.files !== undefined && flags.files.length > 0)
      throw usage(
        "--files does not apply to Ollama models",
        "An Ollama model is its manifest and every blob it lists; leave --files out.",
      );
    if (flags.repoType !== undefined)
      throw usage("--repo-type does not apply to Ollama models", "Leave --repo-type out.");
    if (flags.endpoint !== undefined) {
      try {
        checkRegistryEndpoint(flags.endpoint, "--endpoint");
      } catch (error) {
        if (!(error instanceof SpecFailure)) throw error;
        throw new UserError({ what: error.detail }, { exitCode: 2 });
      }
    }
    const source = { type: "ollama", model: rest, endpoint: flags.endpoint ?? null };
    return {
      source,
      defaultName: ollamaDefaultName(name.model, name.tag),
      nixAttribute: "ollama",
      nixValue: { model: rest, ...(source.endpoint ? { endpoint: source.endpoint } : {}) },
    };
  },
};

/**
 * "llama3.2-1b": the default name lib/sources/ollama.nix gives too, so prefetch and build
 * agree. Model and tag characters (letters, digits, _ - .) are all valid in store names.
 */
function ollamaDefaultName(model: string, tag: string): string {
  return `${model}-${tag}`;
}
