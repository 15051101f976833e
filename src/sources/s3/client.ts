import { S3Client } from "@aws-sdk/client-s3";
import type { Dispatcher } from "undici";
import { UserError } from "../../errors/user-error.js";
import { logger } from "../../util/log.js";
import { registerSecret } from "../../util/secrets.js";
import { undiciRequestHandler } from "./undici-handler.js";
import type { LowSpeedLimit } from "../../transfer/low-speed.js";

/**
 * An S3 client configured for fetching inside a fixed-output derivation:
 *
 * - Requests go through the fetcher's undici dispatcher (proxies, CA bundle, timeouts).
 * - The SDK never retries (maxAttempts 1): the transfer engine retries and resumes
 *   ranged GETs, and API calls go through the shared retry policy. Two retry loops
 *   would multiply each other's attempts and waits.
 * - Checksums only WHEN_REQUIRED: the SDK's default (WHEN_SUPPORTED) adds CRC trailers
 *   and validation that many S3-compatible servers mishandle; every byte is checked by
 *   the engine anyway (size, md5 from the ETag, sha256).
 * - A custom endpoint (MinIO, Ceph, R2, s3rver) uses path-style addressing, which they
 *   all support, instead of bucket subdomains, which need wildcard DNS.
 * - Credentials: the SDK's standard chain (environment, shared config/credentials files
 *   and profiles, credential_process, web identity, SSO); when it finds nothing,
 *   anonymous requests, so public buckets work. The log says which, never the values.
 */
export interface S3Access {
  readonly client: S3Client;
  readonly region: string;
  /** The S3-compatible endpoint in use; undefined for AWS itself. */
  readonly endpoint: string | undefined;
  /** Where the credentials came from, safe to print: "the environment", "anonymous"... */
  readonly credentialsOrigin: string;
  readonly anonymous: boolean;
}

export interface S3AccessOptions {
  /** From the spec; null = the environment's choice (see resolveRegion / resolveEndpoint). */
  readonly region: string | null;
  readonly endpoint: string | null;
  /** Variables naming an endpoint when the spec has none, in order of precedence. */
  readonly endpointEnvVars?: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly dispatcher: Dispatcher;
  /** The spec's low-speed limit, for the XML answers the SDK reads (undici-handler.ts). */
  readonly lowSpeed?: LowSpeedLimit;
}

const DEFAULT_REGION = "us-east-1";
export const DEFAULT_ENDPOINT_ENV_VARS = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"] as const;

export function resolveRegion(region: string | null, env: NodeJS.ProcessEnv): string {
  return region ?? (env["AWS_REGION"] || env["AWS_DEFAULT_REGION"] || DEFAULT_REGION);
}

export function resolveEndpoint(
  endpoint: string | null,
  env: NodeJS.ProcessEnv,
  variables: readonly string[] = DEFAULT_ENDPOINT_ENV_VARS,
): string | undefined {
  if (endpoint !== null) return endpoint;
  for (const name of variables) {
    const value = env[name]?.trim();
    if (value) return value;
  }
  return undefined;
}

export async function openS3(options: S3AccessOptions): Promise<S3Access> {
  quietenSdkProcessDefaults();
  const region = resolveRegion(options.region, options.env);
  const endpoint = resolveEndpoint(options.endpoint, options.env, options.endpointEnvVars);
  const common = {
    region,
    ...(endpoint === undefined ? {} : { endpoint, forcePathStyle: true }),
    // AWS answers a request to the wrong region with a redirect naming the right one.
    followRegionRedirects: endpoint === undefined,
    maxAttempts: 1,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    requestHandler: undiciRequestHandler(options.dispatcher, options.lowSpeed),
  } as const;

  const client = new S3Client(common);
  const identity = await findCredentials(client, options.env);
  if (identity !== null) {
    registerSecret(identity.accessKeyId);
    registerSecret(identity.secretAccessKey);
    registerSecret(identity.sessionToken);
    const origin = describeCredentialSource(identity, options.env);
    logger.info(`S3: using AWS credentials from ${origin}`);
    return { client, region, endpoint, credentialsOrigin: origin, anonymous: false };
  }
  client.destroy();
  logger.info("S3: no AWS credentials found; sending anonymous (unsigned) requests, as for a public bucket");
  // The SDK resolves an identity before it signs, so anonymous needs both: an empty
  // identity, and a signer that leaves the request alone (no Authorization header).
  const anonymous = new S3Client({
    ...common,
    credentials: async () => ({ accessKeyId: "", secretAccessKey: "" }),
    signer: { sign: async (request) => request },
  });
  return { client: anonymous, region, endpoint, credentialsOrigin: "none (anonymous requests)", anonymous: true };
}

interface Identity {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
  /** The SDK's record of which provider produced it (feature ids such as CREDENTIALS_ENV_VARS). */
  readonly $source?: Readonly<Record<string, unknown>>;
}

/**
 * Runs the SDK's default chain once. "Nothing configured" means anonymous; a chain that
 * was asked for something specific and failed (a named profile, half a key pair, an
 * expired SSO session, a failing credential_process) is an error: falling back to
 * anonymous would only turn it into a confusing AccessDenied later.
 */
async function findCredentials(client: S3Client, env: NodeJS.ProcessEnv): Promise<Identity | null> {
  if (env["AWS_ACCESS_KEY_ID"] && !env["AWS_SECRET_ACCESS_KEY"] && !env["AWS_PROFILE"]) {
    throw new UserError({
      what: "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not",
      fix: [
        "Set both (and AWS_SESSION_TOKEN for temporary credentials), or neither for anonymous access to a public bucket.",
      ],
    });
  }
  try {
    return (await client.config.credentials()) as Identity;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const nothingConfigured = /Could not load credentials from any providers/.test(message);
    if (nothingConfigured && !env["AWS_PROFILE"]) return null;
    throw new UserError(
      {
        what: "Cannot load AWS credentials",
        context: { profile: env["AWS_PROFILE"] || undefined },
        cause: message,
        fix: [
          env["AWS_PROFILE"]
            ? `AWS_PROFILE=${env["AWS_PROFILE"]} names a profile that is not in the shared files (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/): check its name and the files.`
            : "Check the AWS configuration the credential chain reads (environment, AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE).",
          "Inside a Nix build HOME is /homeless-shelter: ~/.aws is not read; point AWS_SHARED_CREDENTIALS_FILE/AWS_CONFIG_FILE at readable files (see docs/sources/s3.md).",
        ],
      },
      { cause: error },
    );
  }
}

function describeCredentialSource(identity: Identity, env: NodeJS.ProcessEnv): string {
  const features = Object.keys(identity.$source ?? {});
  const has = (prefix: string) => features.some((feature) => feature.startsWith(prefix));
  const profile = env["AWS_PROFILE"] || "default";
  if (has("CREDENTIALS_ENV_VARS")) return "the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)";
  if (has("CREDENTIALS_SSO")) return `SSO (profile ${profile})`;
  if (has("CREDENTIALS_PROCESS")) return `credential_process (profile ${profile})`;
  if (has("CREDENTIALS_STS_ASSUME_ROLE_WEB_ID") || has("CREDENTIALS_ENV_VARS_STS_WEB_ID_TOKEN"))
    return "a web identity token";
  if (has("CREDENTIALS_PROFILE")) return `the shared AWS files (profile ${profile})`;
  if (has("CREDENTIALS_HTTP") || has("CREDENTIALS_IMDS")) return "the container or instance metadata service";
  return `the AWS credential chain${features.length > 0 ? ` (${features.join(", ")})` : ""}`;
}

/**
 * Two process-wide SDK behaviours that read only process.env, so they are set there
 * (unless the user set them):
 * - AWS_EC2_METADATA_DISABLED: the last link of the credential chain probes the EC2
 *   instance metadata service at 169.254.169.254, which on any machine that is not an
 *   EC2 instance costs seconds of timeouts per fetch before "no credentials". A user on
 *   EC2 who wants instance credentials sets AWS_EC2_METADATA_DISABLED=false (prefetch;
 *   in builds the variable does not pass).
 * - The SDK's "node >= 22 will be required" notice, which says nothing about this fetch
 *   and would sit in every build log.
 */
function quietenSdkProcessDefaults(): void {
  process.env["AWS_EC2_METADATA_DISABLED"] ??= "true";
  process.env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"] ??= "true";
}
