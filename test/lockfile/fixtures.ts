import { createHash } from "node:crypto";
import type { LockEntry, LockFile } from "../../src/lockfile/index.js";

export const sha256Of = (text: string): string => createHash("sha256").update(text).digest("hex");
export const sha1Of = (text: string): string => createHash("sha1").update(text).digest("hex");

/** A valid Hugging Face entry: one small file and one large, as `add` writes them. */
export function hubEntry(): LockEntry {
  const weights = sha256Of("weights");
  return {
    source: { target: "hf:acme/tiny@main", files: ["*.json", "*.safetensors"] },
    layout: { kind: "huggingface", refs: ["main"] },
    resolved: { commit: sha1Of("commit") },
    recorded: {
      type: "huggingface",
      repo: "acme/tiny",
      repoType: "model",
      revision: "main",
      files: ["*.json", "*.safetensors"],
    },
    files: [
      {
        path: "config.json",
        size: 2,
        sha256: sha256Of("{}"),
        large: false,
        blob: sha1Of("config"),
        ids: { gitOid: sha1Of("config") },
      },
      {
        path: "model.safetensors",
        size: 4_400_000_000,
        sha256: weights,
        large: true,
        blob: weights,
        ids: { gitOid: sha1Of("pointer"), lfsOid: weights },
      },
    ],
    smallFiles: { narHash: "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" },
  };
}

/** A valid Ollama entry: a manifest (small) and two layers. */
export function ollamaEntry(): LockEntry {
  const manifest = sha256Of("manifest");
  const layer = sha256Of("layer");
  const config = sha256Of("config");
  return {
    source: { target: "ollama:llama3.2:1b" },
    layout: { kind: "ollama" },
    resolved: { manifestDigest: `sha256:${manifest}` },
    recorded: { type: "ollama", model: "registry.ollama.ai/library/llama3.2:1b" },
    files: [
      { path: `blobs/sha256-${config}`, size: 400, sha256: config, large: false, ids: { digest: `sha256:${config}` } },
      {
        path: `blobs/sha256-${layer}`,
        size: 1_300_000_000,
        sha256: layer,
        large: true,
        ids: { digest: `sha256:${layer}` },
      },
      { path: "manifests/registry.ollama.ai/library/llama3.2/1b", size: 900, sha256: manifest, large: false, ids: {} },
    ],
    smallFiles: { narHash: "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" },
  };
}

export function lockOf(models: Record<string, LockEntry>): LockFile {
  return { lockVersion: 1, models };
}
