import { createHash } from "node:crypto";
import type { ResolvedModel } from "../model/resolved-model.js";

/**
 * An Ollama model's manifest, which comes with the resolution (fetched by its digest) rather
 * than through the engine: where it goes in the layout, its bytes and their sha256. Undefined
 * for every other layout.
 */
export function ollamaManifest(model: ResolvedModel): { path: string; bytes: Uint8Array; sha256: string } | undefined {
  if (model.layout?.kind !== "ollama") return undefined;
  const bytes = model.layout.manifest;
  return {
    path: ["manifests", ...model.layout.manifestPath].join("/"),
    bytes,
    sha256: createHash("sha256").update(bytes).digest("hex"),
  };
}
