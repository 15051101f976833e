import { readFileSync } from "node:fs";
import { EnvHttpProxyAgent, type Dispatcher } from "undici";
import { logger } from "../util/log.js";
import { registerSecret } from "../util/secrets.js";
import type { HttpSettings } from "./settings.js";

/**
 * The one undici dispatcher every request goes through: connection pooling, timeouts,
 * proxies and the trusted CAs live here and nowhere else.
 *
 * EnvHttpProxyAgent reads http_proxy, https_proxy and no_proxy (lower case first, then
 * upper case) and sends everything else directly; explicit `settings.proxy` values win
 * over the environment. TLS verification is never turned off.
 */
export function createDispatcher(settings: HttpSettings, env: NodeJS.ProcessEnv = process.env): Dispatcher {
  const ca = readCaBundle(env);
  // Both the direct connection and the TLS session through a proxy tunnel use these.
  const tls = { timeout: settings.connectTimeoutMs, ...(ca === undefined ? {} : { ca }) };
  registerProxySecrets([
    settings.proxy?.http,
    settings.proxy?.https,
    env["http_proxy"],
    env["HTTP_PROXY"],
    env["https_proxy"],
    env["HTTPS_PROXY"],
  ]);
  return new EnvHttpProxyAgent({
    connect: tls,
    requestTls: tls,
    proxyTls: tls,
    headersTimeout: settings.readTimeoutMs,
    bodyTimeout: settings.readTimeoutMs,
    ...(settings.proxy?.http ? { httpProxy: settings.proxy.http } : {}),
    ...(settings.proxy?.https ? { httpsProxy: settings.proxy.https } : {}),
    ...(settings.proxy?.noProxy !== undefined ? { noProxy: settings.proxy.noProxy } : {}),
  });
}

/**
 * The CA bundle named by NIX_SSL_CERT_FILE or SSL_CERT_FILE (Nix's own order), as curl
 * and Nix use it: it replaces the built-in roots. Fixed-output derivations set it to
 * cacert's bundle. nixpkgs' stdenv sets `/no-cert-file.crt` as a placeholder, so an
 * unreadable file is skipped and Node's built-in roots apply: verification stays on.
 */
export function readCaBundle(env: NodeJS.ProcessEnv = process.env): string | undefined {
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
function registerProxySecrets(urls: readonly (string | undefined)[]): void {
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
    registerSecret(Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString("base64"));
  }
}
