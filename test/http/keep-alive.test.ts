/**
 * Connections are reused: a request sent right after an answer was read to its end goes on
 * the connection that answer came on, instead of opening another (over TLS, another
 * handshake). undici frees a keep-alive socket only one event-loop turn after the answer
 * ends, so the fetcher must not send sooner (src/http/body.ts, keepAliveHandBack). The Hub
 * server numbers the connections it accepts; the tests count them.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runFetchSpec } from "../../src/fetch/fetch-model.js";
import { parseSpec, SPEC_VERSION } from "../../src/fetch/spec.js";
import { silentProgress } from "../../src/progress/silent.js";
import { type HubServer, startHubServer } from "../../src/serve/index.js";
import { writeHubRepo } from "../helpers/hub-fixture.js";
import { client as httpClient } from "../helpers/transfer-fixtures.js";

const options = { env: {}, progress: silentProgress };

describe("keep-alive connections", () => {
  let root: string;
  let work: string;
  let hub: HubServer;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "nmr-keepalive-hub-"));
    work = await mkdtemp(join(tmpdir(), "nmr-keepalive-out-"));
    await writeHubRepo(root, { repoId: "acme/tiny", files: { "config.json": '{"v":1}' } });
    const many: Record<string, string> = {};
    for (let i = 0; i < 40; i++) many[`part-${String(i).padStart(2, "0")}.txt`] = `file ${i}\n`;
    await writeHubRepo(root, { repoId: "acme/many", files: many });
    hub = await startHubServer({ root });
  });

  afterAll(async () => {
    await hub?.close();
    await rm(root, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  const connectionsUsed = () => new Set(hub.requests.map((request) => request.connection)).size;

  const fetchRepo = async (repo: string, out: string, concurrency?: number) => {
    hub.clearRequests();
    await runFetchSpec(
      parseSpec({
        specVersion: SPEC_VERSION,
        name: "keepalive",
        source: { type: "huggingface", repo, endpoint: hub.url },
        ...(concurrency === undefined ? {} : { network: { concurrency } }),
      }),
      join(work, out),
      options,
    );
  };

  it("sends a tiny fetch's three requests (revision, listing, file) on one connection", async () => {
    await fetchRepo("acme/tiny", "tiny");
    expect(hub.requests.map((request) => request.route)).toEqual(["info", "tree", "resolve"]);
    expect(connectionsUsed()).toBe(1);
  });

  it("fetches 40 files one at a time (concurrency 1) on one connection", async () => {
    await fetchRepo("acme/many", "one-at-a-time", 1);
    expect(hub.requests).toHaveLength(42);
    expect(connectionsUsed()).toBe(1);
  });

  it("opens no more connections than files fetched at once, plus the listing", async () => {
    await fetchRepo("acme/many", "four-at-a-time", 4);
    expect(hub.requests).toHaveLength(42);
    expect(connectionsUsed()).toBeLessThanOrEqual(5);
  });

  it("sends API requests one after another on one connection", async () => {
    hub.clearRequests();
    const client = httpClient();
    try {
      for (let i = 0; i < 5; i++) await client.getJson(`${hub.url}/api/models/acme/tiny/revision/main`);
    } finally {
      await client.close();
    }
    expect(hub.requests).toHaveLength(5);
    expect(connectionsUsed()).toBe(1);
  });
});
