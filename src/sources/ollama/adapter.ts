import type { AdapterContext, SourceAdapter } from "../adapter.js";
import type { PlannedFile, ResolvedModel } from "../../model/resolved-model.js";
import { findToken } from "../../auth/token.js";
import { TransferFailure } from "../../errors/failures.js";
import { UserError } from "../../errors/user-error.js";
import { logger } from "../../util/log.js";
import { checkRemotePaths } from "../remote-path.js";
import { parseOllamaManifest, type BlobDescriptor } from "./manifest.js";
import {
  fullOllamaName,
  manifestPathSegments,
  parseOllamaName,
  registryBaseUrl,
  shortOllamaName,
  type OllamaName,
} from "./name.js";
import { blobUrl, explainRegistryFailure, fetchManifest, type RegistryRepository } from "./registry-api.js";
import type { OllamaSource } from "./spec.js";

/**
 * source.ollama: a model from an Ollama registry (registry.ollama.ai or any registry
 * speaking the Docker registry API), written in the Ollama layout (docs/architecture.md,
 * "Layouts"): the manifest exactly as received under manifests/<host>/<namespace>/<model>/<tag>,
 * every blob it lists (config included) under blobs/sha256-<hex>, each checked against its
 * digest and size by the transfer engine.
 */
export const ollamaAdapter: SourceAdapter<OllamaSource> = {
  describe(source) {
    const name = parseOllamaName(source.model);
    return {
      source: "ollama",
      model: fullOllamaName(name),
      registry: source.endpoint ?? `${name.scheme}://${name.host}`,
    };
  },

  async resolve(source, context) {
    const name = parseOllamaName(source.model);
    const baseUrl = registryBase(name, source.endpoint);
    const token = await findToken({ auth: context.auth, env: context.env, standardEnvVars: [], standardFiles: [] });
    const registryHost = new URL(baseUrl).host;
    if (token) {
      logger.info(`using the registry token from ${token.origin} (sent to ${registryHost} only)`);
      if (baseUrl.startsWith("http:")) logger.warn(`the registry token is sent over plain HTTP to ${registryHost}`);
    }
    const repo: RegistryRepository = {
      baseUrl,
      repository: `${name.namespace}/${name.model}`,
      // Blob redirects go to storage on other hosts (signed URLs): the token stays with the registry.
      credential: token ? { authorization: `Bearer ${token.token}`, hosts: [registryHost] } : undefined,
    };
    const failureContext = { model: fullOllamaName(name), registry: baseUrl, tokenOrigin: token?.origin ?? null };
    context.explainFailuresWith((failure, { file }) => {
      if (file === undefined) {
        return explainRegistryFailure(failure, `Fetching the manifest of ${fullOllamaName(name)}`, failureContext);
      }
      // Only the registry's own refusal is about the token; storage behind a redirect has signed URLs.
      const fromRegistry =
        failure instanceof TransferFailure && failure.url !== undefined && new URL(failure.url).host === registryHost;
      return fromRegistry && failure.code === "NMR_AUTH"
        ? explainRegistryFailure(failure, `Downloading a blob of ${fullOllamaName(name)}`, failureContext)
        : undefined;
    });

    // A lock pins the manifest by digest: the registry serves it whatever the tag names now.
    const pinned = context.pinned?.["manifestDigest"];
    if (pinned !== undefined && !/^sha256:[0-9a-f]{64}$/.test(pinned))
      throw new UserError({ what: `The pinned manifest digest ${JSON.stringify(pinned)} is not sha256:<64 hex>` });
    const manifest = await fetchManifest(context.http, repo, pinned ?? name.tag, context.signal);
    if (pinned !== undefined && manifest.digest !== pinned) {
      throw new TransferFailure(
        `the registry answered the manifest ${pinned} of ${fullOllamaName(name)} with ${manifest.digest}`,
        {
          retryable: false,
          code: "NMR_INTEGRITY",
          url: manifest.url,
        },
      );
    }
    const { blobs } = parseOllamaManifest(manifest.bytes, `the manifest of ${fullOllamaName(name)} from ${baseUrl}`);
    logger.info(`${shortOllamaName(name)}: tag ${name.tag} is manifest ${manifest.digest}`);

    const files = uniqueByDigest(blobs).map((blob) => planBlob(blob, name, repo, context));
    // Digests are checked already; this is the shared last check on every remote-derived path.
    checkRemotePaths(
      files.map((file) => file.path),
      `the manifest of ${fullOllamaName(name)}`,
    );

    return {
      commit: null,
      refs: [],
      files,
      // The full name identifies the content; the endpoint (a mirror) and scheme do not.
      metaSource: { type: source.type, model: fullOllamaName(name) },
      // A tag is a moving pointer: record what it pointed to.
      resolved: { manifestDigest: manifest.digest },
      layout: { kind: "ollama", manifestPath: manifestPathSegments(name), manifest: manifest.bytes },
    } satisfies ResolvedModel;
  },
};

/** The endpoint override (a mirror), else the name's own registry; never with a trailing "/". */
function registryBase(name: OllamaName, endpoint: string | null): string {
  if (endpoint !== null) return endpoint.replace(/\/+$/, "");
  try {
    return registryBaseUrl(name).origin;
  } catch (error) {
    throw new UserError({
      what: `Cannot contact the registry of ${fullOllamaName(name)}: ${(error as Error).message}`,
      fix: ['Set source.ollama.endpoint to the registry\'s URL, e.g. endpoint = "http://localhost:5000";'],
    });
  }
}

/** A blob listed twice (a config equal to a layer) is one file; the manifest check made its sizes agree. */
function uniqueByDigest(blobs: readonly BlobDescriptor[]): BlobDescriptor[] {
  const byDigest = new Map<string, BlobDescriptor>();
  for (const blob of blobs) if (!byDigest.has(blob.digest)) byDigest.set(blob.digest, blob);
  return [...byDigest.values()];
}

function planBlob(
  blob: BlobDescriptor,
  name: OllamaName,
  repo: RegistryRepository,
  context: AdapterContext,
): PlannedFile {
  // Ollama's blob file name: the digest with "-" for ":" (manifest/paths.go BlobsPath).
  const blobName = `sha256-${blob.sha256}`;
  return {
    path: `blobs/${blobName}`,
    size: blob.size,
    expected: { sha256: blob.sha256 },
    blobName,
    source: context.http.byteSource(blobUrl(repo, blob.digest), {
      credential: repo.credential,
      description: `${shortOllamaName(name)} ${blob.role} (${blob.mediaType})`,
    }),
  };
}
