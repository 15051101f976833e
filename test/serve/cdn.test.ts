/** CDN mode: LFS content redirects to a signed URL on a second host (127.0.0.2), as on huggingface.co. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHubServer, type HubServer } from "../../src/serve/index.js";
import { pseudoRandomBytes, writeHubRepo, type FixtureFile, type WrittenHubRepo } from "../helpers/hub-fixture.js";
import { makeTempDir, removeDir } from "./harness.js";

let root: string;
let hub: HubServer;
let repo: WrittenHubRepo;
let weights: FixtureFile;

beforeAll(async () => {
  root = await makeTempDir("serve-cdn-");
  repo = await writeHubRepo(root, {
    repoId: "acme/tiny",
    files: { "config.json": "{}\n", "model.safetensors": pseudoRandomBytes(10_000) },
  });
  weights = repo.files.find((file) => file.path === "model.safetensors")!;
  hub = await startHubServer({ root, cdn: { host: "127.0.0.2" } });
});

afterAll(async () => {
  await hub?.close();
  await removeDir(root);
});

const resolveUrl = (path: string) => `${hub.url}/acme/tiny/resolve/main/${path}`;

describe("CDN redirects", () => {
  it("answers LFS resolve with 302 to the CDN host, with the metadata headers HH reads from the redirect", async () => {
    const response = await fetch(resolveUrl("model.safetensors"), { method: "HEAD", redirect: "manual" });
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get("location")!);
    expect(location.origin).toBe(hub.cdnUrl);
    expect(location.hostname).toBe("127.0.0.2");
    expect(location.pathname).toBe(`/cdn-lfs/models/acme/tiny/${weights.sha256}`);
    expect(location.searchParams.get("X-Sig")).toBeTruthy();
    expect(response.headers.get("x-linked-etag")).toBe(`"${weights.sha256}"`);
    expect(response.headers.get("x-linked-size")).toBe(String(weights.size));
    expect(response.headers.get("x-repo-commit")).toBe(repo.commit);
  });

  it("serves git files directly", async () => {
    const response = await fetch(resolveUrl("config.json"), { redirect: "manual" });
    expect([response.status, await response.text()]).toEqual([200, "{}\n"]);
  });

  it("the CDN serves the signed URL with Range, and records which host each request reached", async () => {
    hub.clearRequests();
    const location = (await fetch(resolveUrl("model.safetensors"), { redirect: "manual" })).headers.get("location")!;
    const whole = await fetch(location);
    expect(Buffer.from(await whole.arrayBuffer()).equals(weights.content)).toBe(true);
    expect(whole.headers.get("etag")).toBe(`"${weights.sha256}"`);
    expect(whole.headers.get("content-disposition")).toBe('attachment; filename="model.safetensors"');
    const part = await fetch(location, { headers: { Range: "bytes=100-199" } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).equals(weights.content.subarray(100, 200))).toBe(true);
    expect(hub.requests.map((request) => [request.host, request.route, request.status])).toEqual([
      [new URL(hub.url).host, "resolve", 302],
      [new URL(hub.cdnUrl!).host, "cdn", 200],
      [new URL(hub.cdnUrl!).host, "cdn", 206],
    ]);
  });

  it("fetch following the redirect itself drops the token before the CDN", async () => {
    hub.clearRequests();
    const response = await fetch(resolveUrl("model.safetensors"), {
      headers: { Authorization: "Bearer hf_secret_token" },
    });
    expect(response.status).toBe(200);
    expect(hub.requests.map((request) => [request.route, request.hasAuthorization])).toEqual([
      ["resolve", true],
      ["cdn", false],
    ]);
  });

  it("refuses a request that carries Authorization, a tampered signature, or an expired URL", async () => {
    const location = (await fetch(resolveUrl("model.safetensors"), { redirect: "manual" })).headers.get("location")!;
    const withAuth = await fetch(location, { headers: { Authorization: "Bearer hf_leaked" } });
    expect(withAuth.status).toBe(400);
    expect(await withAuth.text()).toContain("<Code>InvalidArgument</Code>");
    const tampered = new URL(location);
    tampered.pathname = tampered.pathname.replace(weights.sha256, "0".repeat(64));
    const forged = await fetch(tampered);
    expect([forged.status, (await forged.text()).includes("AccessDenied")]).toEqual([403, true]);

    const expiring = await startHubServer({ root, cdn: { host: "127.0.0.2" }, cdnUrlTtlSeconds: 0 });
    try {
      const expired = (
        await fetch(`${expiring.url}/acme/tiny/resolve/main/model.safetensors`, { redirect: "manual" })
      ).headers.get("location")!;
      const response = await fetch(expired);
      expect([response.status, (await response.text()).includes("Request has expired")]).toEqual([403, true]);
    } finally {
      await expiring.close();
    }
  });

  it("with a baseUrl only rewrites Location (the CDN path is still served on the main address)", async () => {
    const external = await startHubServer({ root, cdn: { baseUrl: "http://cdn.example.invalid" } });
    try {
      const location = (
        await fetch(`${external.url}/acme/tiny/resolve/main/model.safetensors`, { redirect: "manual" })
      ).headers.get("location")!;
      expect(location.startsWith("http://cdn.example.invalid/cdn-lfs/models/acme/tiny/")).toBe(true);
      const local = new URL(location);
      const response = await fetch(`${external.url}${local.pathname}${local.search}`);
      expect(Buffer.from(await response.arrayBuffer()).equals(weights.content)).toBe(true);
    } finally {
      await external.close();
    }
  });
});
