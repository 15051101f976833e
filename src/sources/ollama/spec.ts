import type { FieldReader } from "../../spec/fields.js";
import { invalid } from "../../spec/fields.js";
import { checkHttpUrl } from "../../spec/url.js";
import { InvalidOllamaName, parseOllamaName } from "./name.js";

export interface OllamaSource {
  readonly type: "ollama";
  /** An Ollama model name as `ollama pull` takes it: "llama3.2:1b", "http://localhost:5000/library/tiny:1". */
  readonly model: string;
  /**
   * Registry base URL to fetch from instead of the name's host (a mirror). The name still
   * decides where the manifest goes (manifests/<host>/...), so `ollama run <name>` finds it.
   */
  readonly endpoint: string | null;
}

export function parseOllamaSource(r: FieldReader): OllamaSource {
  const source: OllamaSource = {
    type: "ollama",
    model: r.string("model"),
    endpoint: r.optionalString("endpoint"),
  };
  r.done();
  try {
    parseOllamaName(source.model);
  } catch (error) {
    if (!(error instanceof InvalidOllamaName)) throw error;
    throw invalid(
      `${r.where}.model`,
      `must be an Ollama model name like "llama3.2:1b" or "host/namespace/model:tag" (${error.message})`,
      source.model,
    );
  }
  if (source.endpoint !== null) checkRegistryEndpoint(source.endpoint, `${r.where}.endpoint`);
  return source;
}

export function checkRegistryEndpoint(endpoint: string, where: string): void {
  checkHttpUrl(endpoint, where, {
    example: "http://localhost:5000",
    credentialsFrom: "auth.tokenEnvVar or auth.tokenFile",
  });
}
