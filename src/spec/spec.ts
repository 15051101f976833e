import { readFile } from "node:fs/promises";
import { FieldReader, invalid } from "./fields.js";
import { parseBandwidthLimit } from "./bandwidth.js";
import { UserError } from "../errors/user-error.js";
import { registerSecret } from "../util/secrets.js";
import { type HttpSettings, defaultHttpSettings } from "../http/settings.js";
import { parseSourceSpec, type SourceSpec } from "../sources/registry.js";

/**
 * The fetch spec: the JSON the Nix library writes (builtins.toJSON, passed with
 * passAsFile) and `nix-model-repo fetch` reads. It never holds a secret: tokens come
 * from the environment or a token file named here. See docs/spec.md.
 */
export const SPEC_VERSION = 1;

export interface NetworkSpec {
  readonly timeout: { readonly connect: number; readonly read: number };
  readonly retry: { readonly maxAttempts: number; readonly baseDelay: number };
  readonly bandwidth: { readonly limit: string | null };
  readonly proxy: {
    readonly http: string | null;
    readonly https: string | null;
    readonly noProxy: string | null;
  } | null;
  readonly concurrency: number;
}

export interface AuthSpec {
  /** Name of an extra environment variable holding the token (tried before the source's standard ones). */
  readonly tokenEnvVar: string | null;
  /** Path of a file holding the token, read at build time. */
  readonly tokenFile: string | null;
}

export interface FailureSpec {
  /** Whole-fetch attempts (onFailure.action = "retry" makes it 2). */
  readonly attempts: number;
  /** Executable run when the fetch fails for good (onFailure.notify). */
  readonly notify: string | null;
}

export interface FetchSpec {
  readonly specVersion: typeof SPEC_VERSION;
  readonly name: string;
  readonly source: SourceSpec;
  readonly network: NetworkSpec;
  readonly auth: AuthSpec;
  readonly onFailure: FailureSpec;
}

export const defaultNetwork: NetworkSpec = {
  timeout: { connect: 30, read: 300 },
  retry: { maxAttempts: 3, baseDelay: 2 },
  bandwidth: { limit: null },
  proxy: null,
  concurrency: 8,
};

const ENV_VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export async function readSpecFile(path: string): Promise<FetchSpec> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new UserError({ what: `Cannot read the fetch spec ${path}`, cause: String((error as Error).message) });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UserError({ what: `The fetch spec ${path} is not valid JSON`, cause: (error as Error).message });
  }
  return parseSpec(json);
}

export function parseSpec(json: unknown): FetchSpec {
  const root = FieldReader.root(json, "spec");
  const version = root.number("specVersion", { min: 0, integer: true, fallback: -1 });
  if (version !== SPEC_VERSION) {
    throw new UserError({
      what: `This fetcher reads fetch spec version ${SPEC_VERSION}, but the spec says ${version === -1 ? "nothing" : version}`,
      fix: ["Use the fetcher package that comes with this version of the Nix library, or update both together."],
    });
  }
  const name = root.string("name");
  if (!/^[A-Za-z0-9+\-._?=][A-Za-z0-9+\-._?=]*$/.test(name) || name.startsWith(".")) {
    throw invalid(
      "spec.name",
      "must be a valid Nix store name (letters, digits, + - . _ ? =; not starting with a dot)",
      name,
    );
  }
  const spec: FetchSpec = {
    specVersion: SPEC_VERSION,
    name,
    source: parseSourceSpec(root.object("source")),
    network: parseNetwork(root.optionalObject("network")),
    auth: parseAuth(root.optionalObject("auth")),
    onFailure: parseFailure(root.optionalObject("onFailure")),
  };
  root.done();
  return spec;
}

function parseNetwork(r: FieldReader): NetworkSpec {
  const timeout = r.optionalObject("timeout");
  const retry = r.optionalObject("retry");
  const bandwidth = r.optionalObject("bandwidth");
  const network: NetworkSpec = {
    timeout: {
      connect: timeout.number("connect", { min: 1, fallback: defaultNetwork.timeout.connect }),
      read: timeout.number("read", { min: 1, fallback: defaultNetwork.timeout.read }),
    },
    retry: {
      maxAttempts: retry.number("maxAttempts", { min: 1, integer: true, fallback: defaultNetwork.retry.maxAttempts }),
      baseDelay: retry.number("baseDelay", { min: 0, fallback: defaultNetwork.retry.baseDelay }),
    },
    bandwidth: { limit: bandwidth.optionalString("limit") },
    proxy: parseProxy(r.nullableObject("proxy")),
    concurrency: r.number("concurrency", { min: 1, integer: true, fallback: defaultNetwork.concurrency }),
  };
  for (const reader of [timeout, retry, bandwidth, r]) reader.done();
  if (network.bandwidth.limit !== null) parseBandwidthLimit(network.bandwidth.limit, "spec.network.bandwidth.limit");
  return network;
}

function parseProxy(r: FieldReader | null): NetworkSpec["proxy"] {
  if (r === null) return null;
  const proxy = {
    http: r.optionalString("http"),
    https: r.optionalString("https"),
    noProxy: r.optionalString("noProxy"),
  };
  r.done();
  for (const [key, url] of Object.entries(proxy)) {
    if (key === "noProxy" || url === null) continue;
    try {
      const parsed = new URL(url);
      registerSecret(parsed.password);
    } catch {
      throw invalid(`spec.network.proxy.${key}`, "must be a URL like http://proxy.example:3128", url);
    }
  }
  return proxy;
}

function parseAuth(r: FieldReader): AuthSpec {
  const auth = { tokenEnvVar: r.optionalString("tokenEnvVar"), tokenFile: r.optionalString("tokenFile") };
  r.done();
  if (auth.tokenEnvVar !== null && !ENV_VAR_NAME.test(auth.tokenEnvVar)) {
    throw invalid("spec.auth.tokenEnvVar", "must be an environment variable name like HF_TOKEN", auth.tokenEnvVar);
  }
  if (auth.tokenFile !== null && !auth.tokenFile.startsWith("/")) {
    throw invalid("spec.auth.tokenFile", "must be an absolute path like /run/secrets/hf-token", auth.tokenFile);
  }
  return auth;
}

function parseFailure(r: FieldReader): FailureSpec {
  const failure = {
    attempts: r.number("attempts", { min: 1, integer: true, fallback: 1 }),
    notify: r.optionalString("notify"),
  };
  r.done();
  if (failure.notify !== null && !failure.notify.startsWith("/")) {
    throw invalid("spec.onFailure.notify", "must be the absolute path of an executable (a store path)", failure.notify);
  }
  return failure;
}

/** The transfer settings the HTTP client and engine use, from the spec's network block. */
export function httpSettingsFrom(network: NetworkSpec, userAgent: string): HttpSettings {
  const proxy = network.proxy
    ? {
        ...(network.proxy.http ? { http: network.proxy.http } : {}),
        ...(network.proxy.https ? { https: network.proxy.https } : {}),
        ...(network.proxy.noProxy ? { noProxy: network.proxy.noProxy } : {}),
      }
    : null;
  return {
    ...defaultHttpSettings,
    connectTimeoutMs: network.timeout.connect * 1000,
    readTimeoutMs: network.timeout.read * 1000,
    maxAttempts: network.retry.maxAttempts,
    baseDelayMs: network.retry.baseDelay * 1000,
    proxy,
    bandwidthLimitBytesPerSec:
      network.bandwidth.limit === null ? null : parseBandwidthLimit(network.bandwidth.limit, "network.bandwidth.limit"),
    concurrency: network.concurrency,
    userAgent,
  };
}
