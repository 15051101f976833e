import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { TransferFailure } from "../../src/errors/failures.js";
import { registerSecret } from "../../src/util/secrets.js";
import { FaultServer } from "../helpers/fault-server.js";
import { useFaultBed } from "../helpers/transfer-fixtures.js";

const bed = useFaultBed();

/** A JSON endpoint that answers `failures` first, then the document. */
function jsonRoute(
  path: string,
  document: unknown,
  failures: { status: number; headers?: Record<string, string> }[] = [],
): void {
  let calls = 0;
  bed.server.route(path, (_request, response) => {
    const failure = failures[calls++];
    if (failure) {
      response.writeHead(failure.status, { "content-type": "application/json", ...failure.headers });
      response.end(JSON.stringify({ error: `failure ${calls}` }));
      return;
    }
    response.writeHead(200, {
      "content-type": "application/json",
      link: '<http://example/next?cursor=abc>; rel="next"',
    });
    response.end(JSON.stringify(document));
  });
}

const failureOf = async (promise: Promise<unknown>): Promise<TransferFailure> => {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TransferFailure);
  return error as TransferFailure;
};

describe("HttpClient.getJson", () => {
  it("returns body, headers and final URL", async () => {
    jsonRoute("/api/models/acme/tiny/revision/main", { sha: "a".repeat(40) });
    const response = await bed.http.getJson<{ sha: string }>(bed.server.url("/api/models/acme/tiny/revision/main"));
    expect(response.body.sha).toBe("a".repeat(40));
    expect(response.headers["link"]).toContain('rel="next"');
    expect(response.url).toBe(bed.server.url("/api/models/acme/tiny/revision/main"));
    expect(bed.server.log[0]?.acceptEncoding).toBe("identity");
  });

  it("retries 503 twice, then succeeds", async () => {
    jsonRoute("/api/flaky", { ok: true }, [{ status: 503 }, { status: 503 }]);
    const response = await bed.http.getJson<{ ok: boolean }>(bed.server.url("/api/flaky"));
    expect(response.body.ok).toBe(true);
    expect(bed.server.requestsFor("/api/flaky").length).toBe(3);
  });

  it("waits at least Retry-After on 429", async () => {
    jsonRoute("/api/limited", { ok: true }, [{ status: 429, headers: { "retry-after": "1" } }]);
    const started = performance.now();
    await bed.http.getJson(bed.server.url("/api/limited"));
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(bed.server.requestsFor("/api/limited").length).toBe(2);
  });

  it("waits for the RateLimit reset (t+1 s) when the quota is spent", async () => {
    jsonRoute("/api/ratelimit", { ok: true }, [{ status: 429, headers: { ratelimit: '"api";r=0;t=0' } }]);
    const started = performance.now();
    await bed.http.getJson(bed.server.url("/api/ratelimit"));
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
  });

  it("fails at once when the server asks for a wait beyond the cap, and says so", async () => {
    jsonRoute("/api/hourly", { ok: true }, [{ status: 429, headers: { "retry-after": "3600" } }]);
    const failure = await failureOf(bed.http.getJson(bed.server.url("/api/hourly")));
    expect(failure.retryable).toBe(false);
    expect(failure.message).toMatch(/asks to wait 3600 s.*longer than the 300 s/);
    expect(bed.server.requestsFor("/api/hourly").length).toBe(1);
  });

  it.each([401, 403, 404])("does not retry HTTP %i and exposes the server's explanation", async (status) => {
    jsonRoute(`/api/denied-${status}`, {}, [
      {
        status,
        headers: { "x-error-code": "GatedRepo", "x-error-message": "Access to model acme/tiny is restricted." },
      },
      { status },
    ]);
    const failure = await failureOf(bed.http.getJson(bed.server.url(`/api/denied-${status}`)));
    expect(bed.server.requestsFor(`/api/denied-${status}`).length).toBe(1);
    expect(failure.status).toBe(status);
    expect(failure.retryable).toBe(false);
    expect(failure.headers["x-error-code"]).toBe("GatedRepo");
    expect(failure.serverMessage).toBe("Access to model acme/tiny is restricted.");
    expect(failure.url).toBe(bed.server.url(`/api/denied-${status}`));
    expect(failure.message).toContain(`HTTP ${status}`);
  });

  it("gives up after maxAttempts and says how often it tried", async () => {
    jsonRoute(
      "/api/down",
      {},
      Array.from({ length: 10 }, () => ({ status: 502 })),
    );
    const failure = await failureOf(bed.http.getJson(bed.server.url("/api/down")));
    expect(bed.server.requestsFor("/api/down").length).toBe(4);
    expect(failure.message).toContain("gave up after 4 attempts");
  });

  it("retries a refused connection, then reports it", async () => {
    const closed = await FaultServer.start();
    const url = closed.url("/api/x");
    await closed.close();
    const failure = await failureOf(bed.http.getJson(url));
    expect(failure.message).toContain("ECONNREFUSED");
    expect(failure.message).toContain("gave up after 4 attempts");
  });

  it("decodes a gzip body a server sends despite Accept-Encoding: identity", async () => {
    bed.server.route("/api/gzipped", (_request, response) => {
      response.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" });
      response.end(gzipSync(JSON.stringify({ files: ["a", "b"] })));
    });
    const response = await bed.http.getJson<{ files: string[] }>(bed.server.url("/api/gzipped"));
    expect(response.body.files).toEqual(["a", "b"]);
  });

  it("fails without retrying on invalid JSON", async () => {
    bed.server.route("/api/broken", (_request, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.end("{not json");
    });
    const failure = await failureOf(bed.http.getJson(bed.server.url("/api/broken")));
    expect(failure.message).toContain("invalid JSON");
    expect(bed.server.requestsFor("/api/broken").length).toBe(1);
  });
});

describe("HttpClient.request", () => {
  it("returns statuses listed in expectStatus instead of throwing", async () => {
    const response = await bed.http.request(bed.server.url("/missing"), { method: "HEAD", expectStatus: [200, 404] });
    expect(response.status).toBe(404);
    await response.body.dump();
  });

  it("follows relative redirects and keeps the credential on the same host", async () => {
    bed.server.route("/old/name", (_request, response) => {
      response.writeHead(307, { location: "/new/name" });
      response.end();
    });
    bed.server.route("/new/name", (_request, response) => {
      response.writeHead(200, { "content-type": "text/plain" });
      response.end("moved");
    });
    const credential = { authorization: "Bearer tok_same_host", hosts: [new URL(bed.server.origin()).host] };
    const response = await bed.http.request(bed.server.url("/old/name"), { credential });
    expect(await response.body.text()).toBe("moved");
    expect(response.url).toBe(bed.server.url("/new/name"));
    expect(bed.server.log.map((record) => [record.path, record.authorization])).toEqual([
      ["/old/name", "Bearer tok_same_host"],
      ["/new/name", "Bearer tok_same_host"],
    ]);
  });

  it("drops Authorization once the chain leaves the credential's hosts, even when it comes back", async () => {
    const here = new URL(bed.server.origin()).host;
    bed.server.route("/start", (_request, response) => {
      response.writeHead(302, { location: `${bed.server.origin("127.0.0.2")}/cdn?X-Amz-Signature=sig123` });
      response.end();
    });
    bed.server.route("/cdn", (_request, response) => {
      response.writeHead(302, { location: `${bed.server.origin()}/back` });
      response.end();
    });
    bed.server.route("/back", (_request, response) => {
      response.writeHead(200);
      response.end("ok");
    });
    const response = await bed.http.request(bed.server.url("/start"), {
      credential: { authorization: "Bearer tok_leaves", hosts: [here] },
    });
    await response.body.dump();
    expect(bed.server.log.map((record) => [record.host, record.path, record.authorization])).toEqual([
      ["127.0.0.1", "/start", "Bearer tok_leaves"],
      ["127.0.0.2", "/cdn", undefined],
      ["127.0.0.1", "/back", undefined],
    ]);
  });

  it("stops after 10 redirects", async () => {
    bed.server.route("/loop", (_request, response) => {
      response.writeHead(302, { location: "/loop" });
      response.end();
    });
    const failure = await failureOf(bed.http.request(bed.server.url("/loop")));
    expect(failure.message).toContain("more than 10 redirects");
    expect(bed.server.requestsFor("/loop").length).toBe(11);
  });

  it("refuses an Authorization header passed outside `credential`", async () => {
    await expect(bed.http.request(bed.server.url("/x"), { headers: { Authorization: "Bearer nope" } })).rejects.toThrow(
      /credential/,
    );
    expect(bed.server.log.length).toBe(0);
  });

  it("never puts a registered token or a signed query in an error message", async () => {
    registerSecret("tok_never_printed_42");
    bed.server.route("/leaky", (_request, response) => {
      response.writeHead(302, { location: `${bed.server.origin("127.0.0.2")}/leaky-cdn?X-Amz-Signature=sig-secret-9` });
      response.end();
    });
    bed.server.route("/leaky-cdn", (_request, response) => {
      response.writeHead(403, { "content-type": "text/plain" });
      response.end("denied for tok_never_printed_42");
    });
    const failure = await failureOf(
      bed.http.request(bed.server.url("/leaky"), {
        credential: { authorization: "Bearer tok_never_printed_42", hosts: [new URL(bed.server.origin()).host] },
      }),
    );
    const everything = `${failure.message} ${failure.url} ${failure.serverMessage} ${JSON.stringify(failure.headers)}`;
    expect(everything).not.toContain("tok_never_printed_42");
    expect(everything).not.toContain("sig-secret-9");
    expect(failure.url).toBe(`${bed.server.origin("127.0.0.2")}/leaky-cdn?…`);
  });
});
