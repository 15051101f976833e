import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import { createServer, type Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpClient } from "../../src/http/client.js";
import { createDispatcher, resolveProxies } from "../../src/http/dispatcher.js";
import { TransferFailure } from "../../src/errors/failures.js";
import { redact } from "../../src/util/secrets.js";
import { quickSettings, useFaultBed } from "../helpers/transfer-fixtures.js";

/** Proxies, CA bundles and unfollowed redirects, each against real loopback servers. */

const bed = useFaultBed();

beforeAll(() => {
  bed.server.route("/hello", (_request, response) => {
    response.writeHead(200, { "content-type": "application/json" });
    response.end('{"hello":"world"}');
  });
});

/** A CONNECT proxy (undici tunnels plain HTTP too) that logs what it was asked. */
async function startProxy(): Promise<{
  url: string;
  log: { target: string; auth: string | undefined }[];
  close: () => Promise<void>;
}> {
  const log: { target: string; auth: string | undefined }[] = [];
  const server: Server = createServer((_request, response) => {
    response.writeHead(405);
    response.end();
  });
  server.on("connect", (request, socket, head) => {
    log.push({ target: request.url ?? "", auth: request.headers["proxy-authorization"] });
    const [host, port] = (request.url ?? "").split(":");
    const upstream = connect(Number(port), host, () => {
      socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on("error", () => socket.destroy());
    socket.on("error", () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("proxies", () => {
  it("uses an explicit proxy, with its credentials kept secret", async () => {
    const proxy = await startProxy();
    const proxyUrl = proxy.url.replace("http://", "http://alice:pr0xy-pa55@");
    const settings = quickSettings({ proxy: { http: proxyUrl } });
    const http = createHttpClient(settings, createDispatcher(settings, {}));
    try {
      const response = await http.getJson<{ hello: string }>(bed.server.url("/hello"));
      expect(response.body.hello).toBe("world");
      expect(proxy.log).toEqual([
        { target: `127.0.0.1:${bed.server.port}`, auth: `Basic ${Buffer.from("alice:pr0xy-pa55").toString("base64")}` },
      ]);
      expect(redact(`via ${proxyUrl}`)).not.toContain("pr0xy-pa55");
    } finally {
      await http.close();
      await proxy.close();
    }
  });

  it("honours http_proxy and no_proxy from the environment", async () => {
    const proxy = await startProxy();
    const settings = quickSettings();
    const viaProxy = createHttpClient(settings, createDispatcher(settings, { http_proxy: proxy.url }));
    const direct = createHttpClient(
      settings,
      createDispatcher(settings, { HTTP_PROXY: proxy.url, NO_PROXY: "127.0.0.1" }),
    );
    try {
      await viaProxy.getJson(bed.server.url("/hello"));
      expect(proxy.log.length).toBe(1);
      await direct.getJson(bed.server.url("/hello"));
      expect(proxy.log.length).toBe(1);
    } finally {
      await viaProxy.close();
      await direct.close();
      await proxy.close();
    }
  });

  it("lets an explicit proxy setting replace the environment", () => {
    expect(
      resolveProxies(quickSettings({ proxy: { https: "http://p:1" } }), { http_proxy: "http://env:2", no_proxy: "x" }),
    ).toEqual({
      httpProxy: "",
      httpsProxy: "http://p:1",
      noProxy: "",
    });
    expect(resolveProxies(quickSettings(), { HTTP_PROXY: "http://env:2", NO_PROXY: "x" })).toEqual({
      httpProxy: "http://env:2",
      httpsProxy: "http://env:2",
      noProxy: "x",
    });
  });
});

describe("TLS", () => {
  let server: HttpsServer;
  let url: string;
  let certificate: string;

  beforeAll(async () => {
    const key = join(bed.dir.path, "key.pem");
    certificate = join(bed.dir.path, "cert.pem");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        key,
        "-out",
        certificate,
        "-days",
        "2",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ],
      { stdio: "ignore" },
    );
    server = createHttpsServer(
      { key: await readFile(key), cert: await readFile(certificate) },
      (_request, response) => {
        response.writeHead(200, { "content-type": "application/json" });
        response.end('{"tls":true}');
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("refuses an unknown CA at once, with a hint", async () => {
    const settings = quickSettings();
    const http = createHttpClient(settings, createDispatcher(settings, {}));
    try {
      const error = await http.getJson(url).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(TransferFailure);
      expect((error as TransferFailure).retryable).toBe(false);
      expect((error as Error).message).toContain("SSL_CERT_FILE");
    } finally {
      await http.close();
    }
  });

  it("trusts the bundle in NIX_SSL_CERT_FILE, skipping nixpkgs' /no-cert-file.crt placeholder", async () => {
    const settings = quickSettings();
    const http = createHttpClient(
      settings,
      createDispatcher(settings, { NIX_SSL_CERT_FILE: "/no-cert-file.crt", SSL_CERT_FILE: certificate }),
    );
    try {
      const response = await http.getJson<{ tls: boolean }>(url);
      expect(response.body.tls).toBe(true);
    } finally {
      await http.close();
    }
  });
});

describe("unfollowed redirects", () => {
  it("returns the redirect itself when followRedirects is false", async () => {
    bed.server.route("/resolve/main/model.bin", (_request, response) => {
      response.writeHead(302, {
        location: `${bed.server.origin("127.0.0.2")}/cdn/model.bin?sig=1`,
        "x-linked-size": "123",
      });
      response.end();
    });
    const http = createHttpClient(quickSettings());
    try {
      const response = await http.request(bed.server.url("/resolve/main/model.bin"), {
        method: "HEAD",
        followRedirects: false,
      });
      expect(response.status).toBe(302);
      expect(response.headers["x-linked-size"]).toBe("123");
      expect(bed.server.requestsFor("/cdn/model.bin")).toEqual([]);
    } finally {
      await http.close();
    }
  });
});
