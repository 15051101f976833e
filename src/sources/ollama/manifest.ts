import { UserError } from "../../errors/user-error.js";
import { JsonError, parseJson } from "../../json/index.js";

/**
 * An Ollama manifest: a Docker image manifest v2 schema 2 whose config and layers are
 * the model's blobs (ollama's manifest/manifest.go, server/images.go). Digests come from the
 * server and become file names (blobs/sha256-<hex>), so they are checked strictly
 * here: exactly "sha256:" and 64 lowercase hex digits, nothing else.
 */
export const SCHEMA2_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const MANIFEST_LISTS = new Set([
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.index.v1+json",
]);

const DIGEST = /^sha256:([0-9a-f]{64})$/;
/** A model's manifest lists a handful of layers; this is ample room and a bound on a hostile one. */
const MAX_MANIFEST_VALUES = 100_000;

export interface BlobDescriptor {
  /** "config", or "layer 3" (1-based, in manifest order), for messages. */
  readonly role: string;
  readonly mediaType: string;
  /** "sha256:<hex>", as in the manifest. */
  readonly digest: string;
  /** The 64 hex digits. */
  readonly sha256: string;
  readonly size: number;
}

export interface OllamaManifest {
  /** Config first (when the manifest has one, as Ollama skips an empty one), then the layers in order. */
  readonly blobs: readonly BlobDescriptor[];
}

/** Parses and checks a manifest; `origin` names it in messages ("the manifest of registry.ollama.ai/library/tiny:1"). */
export function parseOllamaManifest(bytes: Uint8Array, origin: string): OllamaManifest {
  const refuse = (why: string, fix?: readonly string[]) =>
    new UserError({
      what: `Refusing ${origin}: ${why}`,
      ...(fix
        ? { fix }
        : { fix: ["The registry (or something between it and you) is broken or hostile; nothing was written."] }),
    });

  let json: unknown;
  try {
    // Bounded as every API answer is (src/json): nesting, and a manifest of a few hundred values at most.
    json = parseJson(bytes, { maxValues: MAX_MANIFEST_VALUES });
  } catch (error) {
    if (!(error instanceof JsonError)) throw error;
    throw refuse(`it is not valid JSON (${error.message})`);
  }
  if (!isObject(json)) throw refuse("it is not a JSON object");
  const mediaType = json["mediaType"];
  if (typeof mediaType === "string" && MANIFEST_LISTS.has(mediaType)) {
    throw refuse(`it is a manifest list (${mediaType}), not a single model`, [
      "Ollama models are single schema-2 manifests; this name points at a multi-platform image, not an Ollama model.",
    ]);
  }
  if (json["schemaVersion"] !== 2) throw refuse(`schemaVersion is ${JSON.stringify(json["schemaVersion"])}, not 2`);
  if (mediaType !== undefined && mediaType !== SCHEMA2_MANIFEST && mediaType !== OCI_MANIFEST) {
    throw refuse(`its mediaType ${JSON.stringify(mediaType)} is not an image manifest`);
  }

  const descriptor = (value: unknown, role: string): BlobDescriptor => {
    if (!isObject(value)) throw refuse(`${role} is not an object`);
    const { mediaType: type, digest, size } = value;
    if (typeof type !== "string" || type === "") throw refuse(`${role} has no mediaType`);
    const match = typeof digest === "string" ? DIGEST.exec(digest) : null;
    if (match === null)
      throw refuse(
        `${role} has the digest ${JSON.stringify(digest)}, which is not "sha256:" and 64 lowercase hex digits`,
      );
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0)
      throw refuse(`${role} has the size ${JSON.stringify(size)}, which is not a byte count`);
    return { role, mediaType: type, digest: digest as string, sha256: match[1]!, size };
  };

  const blobs: BlobDescriptor[] = [];
  // Ollama pulls the config only when it names a digest (server/images.go PullModel).
  const config = json["config"];
  if (
    config !== undefined &&
    config !== null &&
    !(isObject(config) && (config["digest"] === undefined || config["digest"] === ""))
  ) {
    blobs.push(descriptor(config, "config"));
  }
  const layers = json["layers"];
  if (!Array.isArray(layers)) throw refuse("it has no layers list");
  if (layers.length === 0) throw refuse("it has no layers: there is no model in it");
  for (const [index, layer] of layers.entries()) blobs.push(descriptor(layer, `layer ${index + 1}`));

  // The same blob may be listed twice (a config equal to a layer); it must have one size.
  const sizes = new Map<string, BlobDescriptor>();
  for (const blob of blobs) {
    const first = sizes.get(blob.digest);
    if (first !== undefined && first.size !== blob.size) {
      throw refuse(
        `${first.role} and ${blob.role} name the same digest ${blob.digest} with different sizes (${first.size} and ${blob.size})`,
      );
    }
    sizes.set(blob.digest, first ?? blob);
  }
  return { blobs };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
