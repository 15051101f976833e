/**
 * Raw (phase 1) outputs for the validation tests, laid out as the fetcher writes them:
 * a Hugging Face repo folder (via the Hub fixture writer) or an Ollama models folder,
 * each with its .nix-model-repo-meta.json.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeHubRepo, type FileContents, type WrittenHubRepo } from "../helpers/hub-fixture.js";

const corpusDir = fileURLToPath(new URL("../scan/corpus/", import.meta.url));

/** A file of the scanner's corpus (docs/scan.md): b* benign, m* malicious. */
export function corpus(name: string): Buffer {
  return readFileSync(join(corpusDir, name));
}

/** A valid safetensors file with one F32 tensor of `elements` values. */
export function safetensors(elements = 4): Buffer {
  const header = Buffer.from(
    JSON.stringify({ weight: { dtype: "F32", shape: [elements], data_offsets: [0, elements * 4] } }),
  );
  const padded = Buffer.concat([header, Buffer.alloc((8 - (header.length % 8)) % 8, 0x20)]);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(padded.length));
  return Buffer.concat([length, padded, Buffer.alloc(elements * 4)]);
}

export const README_APACHE = "---\nlicense: apache-2.0\ntags:\n- test\n---\n# tiny\n\nA test model.\n";

/** A model every preset accepts: safetensors weights, JSON configs, a declared licence. */
export function cleanModelFiles(): Record<string, Buffer | string> {
  return {
    "README.md": README_APACHE,
    "config.json": JSON.stringify({ model_type: "tiny", hidden_size: 4 }),
    "tokenizer.json": JSON.stringify({ version: "1.0", model: { vocab: { a: 0, b: 1 } } }),
    "model.safetensors": safetensors(),
  };
}

export async function writeRawHf(root: string, files: FileContents, repoId = "acme/tiny"): Promise<WrittenHubRepo> {
  const repo = await writeHubRepo(root, { repoId, files });
  await writeFile(
    join(repo.folder, ".nix-model-repo-meta.json"),
    `${JSON.stringify(
      {
        files: repo.files.map((f) => ({ path: f.path, sha256: f.sha256, size: f.size })),
        formatVersion: 1,
        layout: "huggingface",
        resolved: { commit: repo.commit },
        source: { repo: repoId, type: "huggingface" },
      },
      null,
      2,
    )}\n`,
  );
  return repo;
}

export interface OllamaLayer {
  readonly mediaType: string;
  readonly content: Buffer | string;
}

/** An Ollama models folder: manifests/registry.ollama.ai/library/<model>/<tag> and blobs/sha256-…. */
export async function writeRawOllama(
  dir: string,
  layers: readonly OllamaLayer[],
  model = "tiny",
  tag = "1",
): Promise<string> {
  const blob = async (content: Buffer | string) => {
    const bytes = Buffer.from(content);
    const hex = createHash("sha256").update(bytes).digest("hex");
    await mkdir(join(dir, "blobs"), { recursive: true });
    await writeFile(join(dir, "blobs", `sha256-${hex}`), bytes);
    return { digest: `sha256:${hex}`, size: bytes.length };
  };
  const config = await blob(JSON.stringify({ model_format: "gguf" }));
  const manifestLayers = [];
  for (const layer of layers) manifestLayers.push({ mediaType: layer.mediaType, ...(await blob(layer.content)) });
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.docker.distribution.manifest.v2+json",
    config: { mediaType: "application/vnd.docker.container.image.v1+json", ...config },
    layers: manifestLayers,
  });
  const manifestPath = join(dir, "manifests", "registry.ollama.ai", "library", model, tag);
  await mkdir(dirname(manifestPath), { recursive: true });
  await writeFile(manifestPath, manifest);
  await writeFile(
    join(dir, ".nix-model-repo-meta.json"),
    `${JSON.stringify({ files: [], formatVersion: 1, layout: "ollama", resolved: { digest: "sha256:0" }, source: { type: "ollama" } }, null, 2)}\n`,
  );
  return dir;
}
