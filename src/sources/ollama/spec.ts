import type { FieldReader } from "../../spec/fields.js";
import { invalid } from "../../spec/fields.js";
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
    throw invalid(`${r.where}.model`, `must be an Ollama model name like "llama3.2:1b" or "host/namespace/model:tag" (${error.message})`, source.model);
  }
  if (source.endpoint !== null) checkRegistryEndpoint(source.endpoint, `${r.where}.endpoint`);
  return source;
}

export function checkRegistryEndpoint(endpoint: string, where: string): void {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw invalid(where, "must be a registry URL like http://localhost:5000", endpoint);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw invalid(where, "must be an http(s) URL", endpoint);
  if (url.username || url.password) throw invalid(where, "must not contain credentials (use auth.tokenEnvVar or auth.tokenFile)", endpoint);
  if (url.search || url.hash) throw invalid(where, "must not have a query or fragment", endpoint);
}
