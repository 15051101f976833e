/**
 * NIX_SSL_CERT_FILE reaches the fetch, as with nixpkgs' fetchers (lib/fetchers.nix
 * proxyImpureEnvVars): behind a TLS-intercepting proxy the builder needs the proxy's CA,
 * which the build machine's environment names there. A real nix-build of a url source on
 * an HTTPS server whose certificate only that bundle trusts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { chmod, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { createHash, randomBytes } from "node:crypto";
import { FAKE_HASH, libPrelude, nixAvailable, nixBuild, nixReadableTempDir, reportedHash } from "../helpers/nix.js";

describe.skipIf(!nixAvailable)("NIX_SSL_CERT_FILE in a fixed-output build", () => {
  let dir: string;
  let certificate: string;
  let server: Server;
  let url: string;
  const body = randomBytes(4096);
  const sha256 = createHash("sha256").update(body).digest("hex");

  beforeAll(async () => {
    dir = await nixReadableTempDir("nmr-tls-");
    const key = join(dir, "key.pem");
    certificate = join(dir, "ca.pem");
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate, "-days", "2"].concat([
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ]),
      { stdio: "ignore" },
    );
    // The build users read the bundle.
    await chmod(certificate, 0o644);
    server = createServer({ key: await readFile(key), cert: await readFile(certificate) }, (_request, response) => {
      response.writeHead(200, { "content-type": "application/octet-stream", "content-length": body.length });
      response.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/weights/model.bin`;
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  // A fresh name per build, so no earlier result answers it; the fake hash makes Nix
  // report what it got, which it only can once the download went through.
  const model = (name: string) =>
    `${libPrelude} (nmr.fetchModel { name = "${name}"; source.url.urls = [ { url = "${url}"; sha256 = "${sha256}"; } ]; hash = "${FAKE_HASH}"; validation.enable = false; })`;

  it("trusts the CA bundle NIX_SSL_CERT_FILE names in the build's environment", async () => {
    const result = await nixBuild(model(`tls-${randomBytes(4).toString("hex")}`), {
      env: { NIX_SSL_CERT_FILE: certificate },
    });
    expect(result.ok).toBe(false);
    expect(reportedHash(result), result.stderr).toMatch(/^sha256-/);
  });

  it("without it, refuses the unknown certificate and says how to trust one", async () => {
    const result = await nixBuild(model(`tls-${randomBytes(4).toString("hex")}`), { env: { NIX_SSL_CERT_FILE: "" } });
    expect(result.ok).toBe(false);
    expect(reportedHash(result)).toBeUndefined();
    expect(result.stderr).toContain("NIX_SSL_CERT_FILE");
  });
});
