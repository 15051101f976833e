import { createHash } from "node:crypto";
import type { HttpClient } from "../../http/client.js";
import type { Credential } from "../../http/settings.js";
import { errorCode } from "../../errors/classify.js";
import type { Explanation } from "../../errors/explain.js";
import { type Failure, TransferFailure } from "../../errors/failures.js";
import { displayUrl } from "../../util/secrets.js";
import { SCHEMA2_MANIFEST } from "./manifest.js";

/**
 * The two registry calls Ollama makes (server/images.go): the manifest of a tag, with
 * the schema-2 Accept header and nothing else (the registry answers 400 MANIFEST_INVALID
 * without it), and blobs by digest, which a registry either serves (200) or redirects
 * to storage (307, registry.ollama.ai to Cloudflare R2). Both go through the shared
 * HTTP client: retries, manual redirects, the credential kept to the registry host.
 */
export interface RegistryRepository {
  /** Base URL without a trailing "/": "https://registry.ollama.ai", or a mirror's. */
  readonly baseUrl: string;
  /** "namespace/model". */
  readonly repository: string;
  readonly credential: Credential | undefined;
}

/** Manifests are small JSON; this bounds memory against a hostile endless answer. */
const MANIFEST_LIMIT_BYTES = 16 * 1024 * 1024;

export interface FetchedManifest {
  /** Exactly the bytes received: Ollama's model ID is their sha256. */
  readonly bytes: Uint8Array;
  /** "sha256:<hex>" of `bytes`. */
  readonly digest: string;
  readonly url: string;
}

function manifestUrl(repo: RegistryRepository, tag: string): string {
  return `${repo.baseUrl}/v2/${repo.repository}/manifests/${tag}`;
}

export function blobUrl(repo: RegistryRepository, digest: string): string {
  return `${repo.baseUrl}/v2/${repo.repository}/blobs/${digest}`;
}

export async function fetchManifest(
  http: HttpClient,
  repo: RegistryRepository,
  tag: string,
  signal: AbortSignal,
): Promise<FetchedManifest> {
  const url = manifestUrl(repo, tag);
  const response = await http.request(url, { accept: SCHEMA2_MANIFEST, credential: repo.credential, signal });
  const bytes = await response.body.bytes(MANIFEST_LIMIT_BYTES);
  const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  // Registries name the manifest's digest; when one does, the bytes must be those.
  const announced = response.headers["docker-content-digest"];
  if (announced?.startsWith("sha256:") && announced !== digest) {
    throw new TransferFailure(
      `the manifest from ${displayUrl(response.url)} has digest ${digest}, but the registry says ${announced}`,
      {
        retryable: false,
        code: "NMR_BAD_RESPONSE",
        status: response.status,
        url: displayUrl(response.url),
      },
    );
  }
  return { bytes, digest, url: response.url };
}

export interface RegistryFailureContext {
  /** The full model name, "registry.ollama.ai/library/llama3.2:1b". */
  readonly model: string;
  readonly registry: string;
  /** Where the token came from, or null when none was sent. */
  readonly tokenOrigin: string | null;
}

/** What a TLS handshake with a server that speaks plain HTTP fails with. */
const PLAIN_HTTP_ANSWER: ReadonlySet<string> = new Set(["ERR_SSL_WRONG_VERSION_NUMBER", "EPROTO"]);

/** A failed registry call, in the user's terms: which model, which registry, what to do. */
export function explainRegistryFailure(
  error: Failure,
  what: string,
  context: RegistryFailureContext,
): Explanation | undefined {
  if (!(error instanceof TransferFailure)) return undefined;
  const status = error.status;
  const base = {
    model: context.model,
    registry: context.registry,
    url: error.url,
    token: context.tokenOrigin === null ? "none (anonymous)" : `from ${context.tokenOrigin}`,
  };
  const fix: string[] = [];
  let headline = `${what} failed`;
  if (status === 404) {
    headline = `Model ${context.model} not found at ${context.registry}`;
    fix.push(
      "Check the name and tag: `ollama pull` takes the same name (for registry.ollama.ai, see https://ollama.com/library).",
      "Registry repository names are usually lowercase.",
    );
  } else if (status === 401 || status === 403) {
    headline = `${what}: the registry refused access (HTTP ${status})`;
    fix.push(
      "Give a bearer token for this registry through auth.tokenEnvVar or auth.tokenFile (sent only to the registry's host).",
      "ollama.com's own signed-key authentication (private models) and the Docker token exchange are not supported; use a registry or mirror that accepts a bearer token or none.",
    );
  } else if (
    status === undefined &&
    PLAIN_HTTP_ANSWER.has(errorCode(error) ?? "") &&
    context.registry.startsWith("https:")
  ) {
    fix.push(
      `The registry may speak plain HTTP: write the model as "http://${context.model}" (what \`ollama pull --insecure\` accepts), or set endpoint = "${context.registry.replace(/^https:/, "http:")}".`,
    );
  }
  // Nothing particular to say: the explanation of the failure's code (network, server...) applies.
  if (fix.length === 0) return undefined;
  return { what: headline, context: base, cause: error.message, fix };
}
