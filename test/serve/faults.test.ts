/** The fault hook: every kind of injected failure, as a client on the wire sees it. */
import { gunzipSync } from "node:zlib";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { faults, match, startHubServer, type FaultRequest, type HubServer } from "../../src/serve/index.js";
import { pseudoRandomBytes, writeHubRepo, type FixtureFile } from "../helpers/hub-fixture.js";
import { makeTempDir, rawRequest, removeDir } from "./harness.js";

let root: string;
let hub: HubServer;
let weights: FixtureFile;
const SIZE = 2 * 1024 * 1024 + 123;

beforeAll(async () => {
  root = await makeTempDir("serve-faults-");
  const repo = await writeHubRepo(root, {
    repoId: "acme/tiny",
    files: {
      "config.json": JSON.stringify({ text: "x".repeat(5000) }),
      "model.safetensors": pseudoRandomBytes(SIZE, 9),
    },
  });
  weights = repo.files.find((file) => file.path === "model.safetensors")!;
  hub = await startHubServer({ root });
});

afterEach(() => {
  hub.setFaults(undefined);
  hub.clearRequests();
});

afterAll(async () => {
  await hub?.close();
  await removeDir(root);
});

const weightsPath = "/acme/tiny/resolve/main/model.safetensors";

async function failure(promise: Promise<unknown>): Promise<Error & { partial?: Buffer }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { partial?: Buffer };
  }
  throw new Error("expected the request to fail");
}

describe("fault hook", () => {
  it("times(): 429 with Retry-After and RateLimit headers twice, then the real answer", async () => {
    hub.setFaults(faults.times(2, faults.rateLimited(1), match.contentGet));
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const response = await fetch(hub.url + weightsPath);
      statuses.push(response.status);
      if (response.status === 429) {
        expect(response.headers.get("retry-after")).toBe("1");
        expect(response.headers.get("ratelimit")).toBe('"api";r=0;t=1');
        await response.arrayBuffer();
      } else {
        expect(Buffer.from(await response.arrayBuffer()).equals(weights.content)).toBe(true);
      }
    }
    expect(statuses).toEqual([429, 429, 200]);
    expect(hub.requests.map((request) => request.faulted)).toEqual([true, true, false]);
    // HEAD probes do not match contentGet, so they pass untouched.
    expect((await fetch(hub.url + weightsPath, { method: "HEAD" })).status).toBe(200);
  });

  it("respond: any status, headers and body, JSON or text", async () => {
    hub.setFaults((request) =>
      request.route === "tree"
        ? { respond: { status: 503, body: { error: "down" }, headers: { "X-Error-Message": "down" } } }
        : request.route === "info"
          ? { respond: { status: 500, body: "plain" } }
          : undefined,
    );
    const tree = await fetch(`${hub.url}/api/models/acme/tiny/tree/main`);
    expect([tree.status, tree.headers.get("x-error-message"), await tree.json()]).toEqual([
      503,
      "down",
      { error: "down" },
    ]);
    const info = await fetch(`${hub.url}/api/models/acme/tiny`);
    expect([info.status, await info.text()]).toEqual([500, "plain"]);
  });

  it("dropAfterBytes: the client gets exactly that many bytes, then the connection closes", async () => {
    hub.setFaults(faults.always({ dropAfterBytes: 100_000 }, match.file("model.safetensors")));
    const error = await failure(rawRequest(hub.url, weightsPath));
    expect(error.partial?.length).toBe(100_000);
    expect(error.partial?.equals(weights.content.subarray(0, 100_000))).toBe(true);
    // fetch reports it as a failed body read.
    const response = await fetch(hub.url + weightsPath);
    expect(response.headers.get("content-length")).toBe(String(SIZE));
    await expect(response.arrayBuffer()).rejects.toThrow();
  });

  it("dropAfterBytes 0: headers only", async () => {
    hub.setFaults(() => ({ dropAfterBytes: 0 }));
    const error = await failure(rawRequest(hub.url, weightsPath));
    expect(error.partial?.length ?? 0).toBe(0);
  });

  it("stallAfterBytes: bytes stop coming but the connection stays open until the client gives up", async () => {
    hub.setFaults(() => ({ stallAfterBytes: 5000 }));
    const controller = new AbortController();
    const response = await fetch(hub.url + weightsPath, { signal: controller.signal });
    const reader = response.body!.getReader();
    let received = 0;
    const timer = setTimeout(() => controller.abort(), 300);
    const started = Date.now();
    await expect(
      (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          received += value.length;
        }
      })(),
    ).rejects.toThrow();
    clearTimeout(timer);
    expect(received).toBe(5000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it("corruptByteAt: flips the byte at a content offset, in whole and ranged answers that cover it", async () => {
    const at = 1_500_000;
    hub.setFaults(() => ({ corruptByteAt: at }));
    const whole = Buffer.from(await (await fetch(hub.url + weightsPath)).arrayBuffer());
    expect(whole.length).toBe(SIZE);
    const differing = [...whole.keys()].filter((index) => whole[index] !== weights.content[index]);
    expect(differing).toEqual([at]);
    expect(whole[at]).toBe(weights.content[at]! ^ 0xff);

    const covering = Buffer.from(
      await (await fetch(hub.url + weightsPath, { headers: { Range: `bytes=${at - 10}-${at + 10}` } })).arrayBuffer(),
    );
    expect(covering[10]).toBe(weights.content[at]! ^ 0xff);
    const elsewhere = Buffer.from(
      await (await fetch(hub.url + weightsPath, { headers: { Range: "bytes=0-999" } })).arrayBuffer(),
    );
    expect(elsewhere.equals(weights.content.subarray(0, 1000))).toBe(true);
  });

  it("ignoreRange: 200 with everything although a range was asked", async () => {
    hub.setFaults(() => ({ ignoreRange: true }));
    const response = await fetch(hub.url + weightsPath, { headers: { Range: "bytes=1000-" } });
    expect([response.status, response.headers.get("content-range")]).toEqual([200, null]);
    expect(Buffer.from(await response.arrayBuffer()).equals(weights.content)).toBe(true);
  });

  it("delayMs delays the answer; headers sets and removes headers", async () => {
    hub.setFaults(() => ({ delayMs: 200, headers: { "X-Linked-Size": "1", "x-repo-commit": null } }));
    const started = Date.now();
    const response = await fetch(hub.url + weightsPath, { method: "HEAD" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(response.headers.get("x-linked-size")).toBe("1");
    expect(response.headers.get("x-repo-commit")).toBeNull();
  });

  it("gzip: chunked gzip without Content-Length when the client accepts it; plain otherwise or with a range", async () => {
    hub.setFaults(() => ({ gzip: true }));
    const compressed = await rawRequest(hub.url, "/acme/tiny/resolve/main/config.json", {
      headers: { "Accept-Encoding": "gzip" },
    });
    expect(compressed.headers["content-encoding"]).toBe("gzip");
    expect(compressed.headers["content-length"]).toBeUndefined();
    expect(compressed.headers["transfer-encoding"]).toBe("chunked");
    const config = gunzipSync(compressed.body).toString();
    expect(JSON.parse(config)).toEqual({ text: "x".repeat(5000) });
    expect(compressed.body.length).toBeLessThan(config.length);

    const identity = await rawRequest(hub.url, "/acme/tiny/resolve/main/config.json", {
      headers: { "Accept-Encoding": "identity" },
    });
    expect([identity.headers["content-encoding"], identity.body.toString()]).toEqual([undefined, config]);
    const ranged = await rawRequest(hub.url, "/acme/tiny/resolve/main/config.json", {
      headers: { "Accept-Encoding": "gzip", Range: "bytes=0-9" },
    });
    expect([ranged.status, ranged.headers["content-encoding"], ranged.body.toString()]).toEqual([
      206,
      undefined,
      config.slice(0, 10),
    ]);
  });

  it("tells the hook what the request is, and counts repeats per method and path", async () => {
    const seen: FaultRequest[] = [];
    hub.setFaults((request) => {
      seen.push(request);
      return undefined;
    });
    await fetch(hub.url + weightsPath, {
      method: "HEAD",
      headers: { Authorization: "Bearer hf_hook_must_not_see_this" },
    });
    await fetch(hub.url + weightsPath, { headers: { Range: "bytes=0-1" } });
    await fetch(hub.url + weightsPath);
    await fetch(`${hub.url}/api/models/acme/tiny/tree/refs%2Fpr%2F1?recursive=true`);
    expect(seen.map((request) => [request.method, request.route, request.nth])).toEqual([
      ["HEAD", "resolve", 1],
      ["GET", "resolve", 1],
      ["GET", "resolve", 2],
      ["GET", "tree", 1],
    ]);
    expect(seen[0]).toMatchObject({
      repo: { type: "model", id: "acme/tiny" },
      revision: "main",
      file: "model.safetensors",
      hasAuthorization: true,
    });
    expect(seen[1]?.range).toBe("bytes=0-1");
    expect(seen[3]).toMatchObject({ revision: "refs/pr/1", pathname: "/api/models/acme/tiny/tree/refs%2Fpr%2F1" });
    expect(seen[3]?.query.get("recursive")).toBe("true");
    expect(JSON.stringify(seen)).not.toContain("hf_hook_must_not_see_this");
  });

  it("faults.first combines hooks; corruptByteAt also reaches JSON answers", async () => {
    hub.setFaults(
      faults.first(faults.always({ corruptByteAt: 0 }, match.route("tree")), faults.always(faults.serverError(502))),
    );
    const tree = await fetch(`${hub.url}/api/models/acme/tiny/tree/main`);
    expect(tree.status).toBe(200);
    expect((await tree.text()).startsWith("[")).toBe(false);
    expect((await fetch(hub.url + weightsPath)).status).toBe(502);
  });
});
