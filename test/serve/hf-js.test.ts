/**
 * A second, independent real client: @huggingface/hub (npm) downloads the bundled example
 * repo through the server byte-identically, also through CDN redirects and tree pages.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { readdir } from "node:fs/promises";
import { downloadFile, listFiles, snapshotDownload } from "@huggingface/hub";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startHubServer, type HubServer } from "../../src/serve/index.js";
import { writeExampleHub } from "../../scripts/example-hub.js";
import type { WrittenHubRepo } from "../helpers/hub-fixture.js";

const ACCEPTED = "hf_acceptedTokenForJsTests000000000";

async function filesUnder(folder: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const entry of await readdir(folder, { recursive: true, withFileTypes: true })) {
    if (entry.isDirectory()) continue;
    const full = join(entry.parentPath, entry.name);
    result[relative(folder, full)] = createHash("sha256")
      .update(await readFile(full))
      .digest("hex");
  }
  return result;
}

describe("@huggingface/hub against the server", () => {
  let root: string;
  let work: string;
  let example: WrittenHubRepo;
  let hub: HubServer;
  let cdnHub: HubServer;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "serve-js-root-"));
    work = await mkdtemp(join(tmpdir(), "serve-js-work-"));
    example = await writeExampleHub(root);
    hub = await startHubServer({ root, pageSize: 2 });
    cdnHub = await startHubServer({ root, cdn: { host: "127.0.0.2" }, tokens: [ACCEPTED] });
    vi.spyOn(console, "debug").mockImplementation(() => undefined); // snapshotDownload logs every file
  });

  afterAll(async () => {
    vi.restoreAllMocks();
    await hub?.close();
    await cdnHub?.close();
    await rm(root, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  const expected = () => Object.fromEntries(example.files.map((file) => [file.path, file.sha256]));

  it("snapshotDownload writes the example repo byte-identically, following tree pages", async () => {
    const cacheDir = join(work, "cache");
    const folder = await snapshotDownload({ repo: "acme/tiny", hubUrl: hub.url, cacheDir });
    expect(folder).toBe(join(cacheDir, "models--acme--tiny", "snapshots", example.commit));
    expect(await filesUnder(folder)).toEqual(expected());
    expect(await readFile(join(cacheDir, "models--acme--tiny", "refs", "main"), "utf8")).toBe(example.commit);
    const weights = example.files.find((file) => file.path === "model.safetensors")!;
    expect(await readlink(join(folder, "model.safetensors"))).toBe(`../../blobs/${weights.sha256}`);
    // pageSize 2 over 7 entries (1 directory, 6 files): 4 tree pages.
    expect(hub.requests.filter((request) => request.route === "tree")).toHaveLength(4);
  });

  it("listFiles returns each entry once, with LFS info", async () => {
    const entries = [];
    for await (const entry of listFiles({ repo: "acme/tiny", hubUrl: hub.url, recursive: true })) entries.push(entry);
    expect(entries.map((entry) => entry.path)).toEqual([
      "2_Dense",
      "2_Dense/config.json",
      "README.md",
      "config.json",
      "model.safetensors",
      "tokenizer.json",
      "tokenizer_config.json",
    ]);
    const weights = example.files.find((file) => file.path === "model.safetensors")!;
    expect(entries.find((entry) => entry.path === "model.safetensors")?.lfs).toEqual({
      oid: weights.sha256,
      size: weights.size,
      pointerSize: 129, // 43 (version line) + 76 (oid line) + "size 3432\n"
    });
  });

  it("downloadFile follows the CDN redirect and never sends the token to the CDN host", async () => {
    cdnHub.clearRequests();
    const blob = await downloadFile({
      repo: "acme/tiny",
      path: "model.safetensors",
      hubUrl: cdnHub.url,
      accessToken: ACCEPTED,
    });
    const bytes = Buffer.from(await blob!.arrayBuffer());
    const weights = example.files.find((file) => file.path === "model.safetensors")!;
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(weights.sha256);
    const cdnHost = new URL(cdnHub.cdnUrl!).host;
    const cdnRequests = cdnHub.requests.filter((request) => request.host === cdnHost);
    expect(cdnRequests.length).toBeGreaterThan(0);
    expect(
      cdnRequests.every((request) => !request.hasAuthorization && request.status !== undefined && request.status < 300),
    ).toBe(true);
  });

  it("snapshotDownload through the CDN is byte-identical too", async () => {
    const folder = await snapshotDownload({
      repo: "acme/tiny",
      hubUrl: cdnHub.url,
      cacheDir: join(work, "cache-cdn"),
      accessToken: ACCEPTED,
    });
    expect(await filesUnder(folder)).toEqual(expected());
  });
});
