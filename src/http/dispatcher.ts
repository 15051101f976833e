import { readFileSync } from "node:fs";
import type { Dispatcher } from "undici";
import { Agent, EnvHttpProxyAgent } from "./undici.js";
import { logger } from "../util/log.js";
import { registerSecret } from "../util/secrets.js";
import type { HttpSettings } from "./settings.js";

/** The limit on a response's headers node applies by default: 16 KiB. */
const NODE_MAX_HEADER_BYTES = 16 * 1024;

/**
 * The one undici dispatcher every request goes through: connection pooling, timeouts,
 * proxies and the trusted CAs live here and nowhere else.
 *
 * Proxies: an explicit `settings.proxy` (the spec's network.proxy) replaces the
 * environment entirely; otherwise http_proxy, https_proxy and no_proxy apply (lower case
 * first, then upper case, as curl reads them). undici's EnvHttpProxyAgent routes each
 * request; we hand it the resolved values so `env` alone decides. TLS verification is
 * never turned off.
 */
export function createDispatcher(settings: HttpSettings, env: NodeJS.ProcessEnv = process.env): Dispatcher {
  const ca = readCaBundle(env);
  // Both the direct connection and the TLS session through a proxy tunnel use these.
  const tls = { timeout: settings.connectTimeoutMs, ...(ca === undefined ? {} : { ca }) };
  const proxy = resolveProxies(settings, env);
  const timeouts = {
    headersTimeout: settings.readTimeoutMs,
    bodyTimeout: settings.readTimeoutMs,
    // node's own default (--max-http-header-size), given here because undici would read it
    // from node:http, which nothing else of a fetch loads (patches/undici+7.30.2.patch).
    maxHeaderSize: NODE_MAX_HEADER_BYTES,
  };
  // No proxy at all: the Agent EnvHttpProxyAgent would route every request to, without the
  // routing (a URL parsed and a dispatcher more per request, which a small file notices).
  if (proxy.httpProxy === "" && proxy.httpsProxy === "") return new Agent({ connect: tls, ...timeouts });
  registerProxySecrets([proxy.httpProxy, proxy.httpsProxy]);
  return new EnvHttpProxyAgent({
    connect: tls,
    requestTls: tls,
    proxyTls: tls,
    ...timeouts,
    // "" means none: undici falls back to process.env only for undefined.
    httpProxy: proxy.httpProxy,
    httpsProxy: proxy.httpsProxy,
    noProxy: proxy.noProxy,
  });
}

export interface ResolvedProxies {
  readonly httpProxy: string;
  readonly httpsProxy: string;
  readonly noProxy: string;
}

export function resolveProxies(settings: HttpSettings, env: NodeJS.ProcessEnv): ResolvedProxies {
  if (settings.proxy !== null) {
    return {
      httpProxy: settings.proxy.http ?? "",
      httpsProxy: settings.proxy.https ?? "",
      noProxy: settings.proxy.noProxy ?? "",
    };
  }
  const httpProxy = env["http_proxy"] || env["HTTP_PROXY"] || "";
  return {
    httpProxy,
    // Like curl and undici: without https_proxy, HTTPS goes through http_proxy too.
    httpsProxy: env["https_proxy"] || env["HTTPS_PROXY"] || httpProxy,
    noProxy: env["no_proxy"] || env["NO_PROXY"] || "",
  };
}

/**
 * The CA bundle named by NIX_SSL_CERT_FILE or SSL_CERT_FILE (Nix's own order), as curl
 * and Nix use it: it replaces the built-in roots. Fixed-output derivations set it to
 * cacert's bundle. nixpkgs' stdenv sets `/no-cert-file.crt` as a placeholder, so an
 * unreadable file is skipped and Node's built-in roots apply: verification stays on.
 */
function readCaBundle(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const name of ["NIX_SSL_CERT_FILE", "SSL_CERT_FILE"]) {
    const file = env[name];
    if (!file) continue;
    try {
      const bundle = readFileSync(file, "utf8");
      if (bundle.includes("-----BEGIN CERTIFICATE-----")) return bundle;
      logger.debug(`${name}=${file} holds no PEM certificate; ignoring it`);
    } catch {
      logger.debug(`${name}=${file} is not readable; ignoring it`);
    }
  }
  return undefined;
}

/** Proxy URLs may carry `user:password@`; neither part may ever be printed. */
function registerProxySecrets(urls: readonly string[]): void {
  for (const raw of urls) {
    if (!raw) continue;
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      continue;
    }
    if (parsed.password === "") continue;
    registerSecret(parsed.password);
    registerSecret(decodeURIComponent(parsed.password));
    registerSecret(`${parsed.username}:${parsed.password}`);
    registerSecret(
      Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString("base64"),
    );
  }
}
