/**
 * serve's Xet endpoints seen from the wire: the token route, the CAS (V1 and V2, ranges,
 * authorization), pre-signed xorb URLs, and the fault kinds phase 2 will test the fetcher
 * with. Downloads use the project's own Xet core (src/xet) as the client, so these tests are
 * also its end-to-end check against a real server.
 */
import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { faults, match, startHubServer, type HubServer } from "../../src/serve/index.js";
import type { XetFault } from "../../src/serve/xet/faults.js";
import {
  assembleFile,
  parseReconstructionV1,
  parseReconstructionV2,
  planDownload,
  XetFormatError,
  type RangeFetcher,
} from "../../src/xet/index.js";
import { writeHubRepo, type WrittenHubRepo } from "../helpers/hub-fixture.js";
import { makeTempDir, removeDir } from "./harness.js";
import { xetRepoFiles, XET_FAULT_REFUSALS } from "./xet-fixture.js";

const ACCEPTED = "hf_acceptedXetTestToken000000000000";
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

interface XetProbe {
  readonly hash: string;
  readonly size: number;
  readonly tokenUrl: string;
}

async function probe(hub: HubServer, repo: string, path: string, token?: string): Promise<XetProbe> {
  const response = await fetch(`${hub.url}/${repo}/resolve/main/${path}`, {
    method: "HEAD",
    redirect: "manual",
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  const link = response.headers.get("link") ?? "";
  return {
    hash: response.headers.get("x-xet-hash") ?? "",
    size: Number(response.headers.get("x-linked-size")),
    tokenUrl: /<([^>]+)>; rel="xet-auth"/.exec(link)?.[1] ?? "",
  };
}

async function xetToken(url: string, hubToken?: string): Promise<{ accessToken: string; casUrl: string; exp: number }> {
  const response = await fetch(url, { headers: hubToken ? { Authorization: `Bearer ${hubToken}` } : {} });
  expect(response.status).toBe(200);
  return (await response.json()) as { accessToken: string; casUrl: string; exp: number };
}

// undici's request rather than the global fetch: Node 20's fetch can leave a body read pending
// forever when it is aborted just as the last byte arrives (the assembler aborts the other
// ranges when one fails).
const fetchRange: RangeFetcher = async (fetchInfo, receive, signal) => {
  const response = await request(fetchInfo.url, {
    headers: { Range: `bytes=${fetchInfo.bytes.start}-${fetchInfo.bytes.end}` },
    signal,
  });
  if (response.statusCode !== 206) {
    await response.body.dump();
    throw new Error(`HTTP ${response.statusCode} from the xorb host`);
  }
  for await (const piece of response.body) receive(piece);
};

/** A whole Xet download with src/xet: probe, token, reconstruction, ranges. */
async function xetDownload(
  hub: HubServer,
  path: string,
  version: 1 | 2 = 2,
  range?: [number, number],
): Promise<Buffer> {
  const file = await probe(hub, "acme/xet-model", path);
  const { accessToken, casUrl } = await xetToken(file.tokenUrl);
  const response = await fetch(`${casUrl}/v${version}/reconstructions/${file.hash}`, {
    headers: { Authorization: `Bearer ${accessToken}`, ...(range ? { Range: `bytes=${range[0]}-${range[1]}` } : {}) },
  });
  if (response.status !== 200) throw new Error(`HTTP ${response.status} from the CAS`);
  const json: unknown = await response.json();
  const reconstruction = version === 1 ? parseReconstructionV1(json) : parseReconstructionV2(json);
  const length = range ? range[1] - range[0] + 1 : file.size;
  const plan = planDownload(reconstruction, { length, exact: range === undefined });
  const parts: Uint8Array[] = [];
  // Copied: a yielded array is valid only until the next is asked for (its buffer is lent again).
  for await (const part of assembleFile(plan, { fetchRange })) parts.push(Buffer.from(part));
  return Buffer.concat(parts);
}

describe("serve's Xet endpoints", () => {
  let root: string;
  let repo: WrittenHubRepo;
  let hub: HubServer;
  let shortLived: HubServer;
  let expiredUrls: HubServer;

  beforeAll(async () => {
    root = await makeTempDir("serve-xet-");
    repo = await writeHubRepo(root, { repoId: "acme/xet-model", files: xetRepoFiles() });
    await writeFile(join(repo.folder, ".xet"), "");
    await writeHubRepo(root, { repoId: "acme/gated-xet", files: { "w.bin": "gated weights" }, gated: true });
    await writeHubRepo(root, { repoId: "acme/plain", files: { "w.bin": "plain weights" } });
    hub = await startHubServer({
      root,
      tokens: [ACCEPTED],
      xet: { repos: ["acme/gated-xet"], xorbMaxBytes: 512 * 1024 },
    });
    shortLived = await startHubServer({ root, xet: { tokenTtlSeconds: 0 } });
    expiredUrls = await startHubServer({ root, xet: { urlTtlSeconds: 0 } });
  });

  afterAll(async () => {
    await hub?.close();
    await shortLived?.close();
    await expiredUrls?.close();
    await removeDir(root);
  });

  const content = (path: string) => repo.files.find((file) => file.path === path)!;

  it.each([1, 2] as const)("downloads every LFS file byte-identically with src/xet over V%i", async (version) => {
    for (const file of repo.files.filter((candidate) => candidate.lfs)) {
      expect(sha256(await xetDownload(hub, file.path, version)), file.path).toBe(file.sha256);
    }
  });

  it("answers a Range with whole chunks and offset_into_first_range", async () => {
    const bytes = await xetDownload(hub, "model.safetensors", 2, [100_000, 250_000]);
    expect(bytes.equals(content("model.safetensors").content.subarray(100_000, 250_001))).toBe(true);
    const { hash, tokenUrl } = await probe(hub, "acme/xet-model", "model.safetensors");
    const { accessToken, casUrl } = await xetToken(tokenUrl);
    const past = await fetch(`${casUrl}/v1/reconstructions/${hash}`, {
      headers: { Authorization: `Bearer ${accessToken}`, Range: `bytes=${content("model.safetensors").size}-` },
    });
    expect(past.status).toBe(416);
  });

  it("issues tokens as JSON and headers, only for Xet repos, and only to those allowed to read", async () => {
    const response = await fetch(`${hub.url}/api/models/acme/xet-model/xet-read-token/main`);
    const body = (await response.json()) as { accessToken: string; exp: number; casUrl: string };
    expect(body.casUrl).toBe(hub.url);
    expect(body.exp).toBeGreaterThan(Date.now() / 1000 + 3000);
    expect(response.headers.get("x-xet-access-token")).toBe(body.accessToken);
    expect(response.headers.get("x-xet-token-expiration")).toBe(String(body.exp));
    expect(response.headers.get("x-xet-cas-url")).toBe(body.casUrl);
    const gated = await fetch(`${hub.url}/api/models/acme/gated-xet/xet-read-token/main`);
    expect([gated.status, gated.headers.get("x-error-code")]).toEqual([401, "GatedRepo"]);
    await xetToken(`${hub.url}/api/models/acme/gated-xet/xet-read-token/main`, ACCEPTED);
    expect((await fetch(`${hub.url}/api/models/acme/plain/xet-read-token/main`)).status).toBe(404);
    const badRevision = await fetch(`${hub.url}/api/models/acme/xet-model/xet-read-token/nope`);
    expect(badRevision.headers.get("x-error-code")).toBe("RevisionNotFound");
  });

  it("lets the CAS accept only a live Xet token for the file's own repo", async () => {
    const file = await probe(hub, "acme/xet-model", "model.safetensors");
    const url = `${hub.url}/v2/reconstructions/${file.hash}`;
    const status = async (headers: Record<string, string>, target = url) => (await fetch(target, { headers })).status;
    expect(await status({})).toBe(401);
    expect(await status({ Authorization: `Bearer ${ACCEPTED}` })).toBe(401); // the Hub token is not a Xet token
    const other = await xetToken(`${hub.url}/api/models/acme/gated-xet/xet-read-token/main`, ACCEPTED);
    expect(await status({ Authorization: `Bearer ${other.accessToken}` })).toBe(404); // scoped to another repo
    const own = await xetToken(file.tokenUrl);
    expect(await status({ Authorization: `Bearer ${own.accessToken}` }, `${hub.url}/v2/reconstructions/xyz`)).toBe(400);
    const expired = await xetToken(`${shortLived.url}/api/models/acme/xet-model/xet-read-token/main`);
    const refused = await fetch(`${shortLived.url}/v1/reconstructions/${file.hash}`, {
      headers: { Authorization: `Bearer ${expired.accessToken}` },
    });
    expect(refused.status).toBe(401);
    expect(await refused.text()).toMatch(/expired/);
  });

  /** The first V1 fetch entry for model.safetensors on `server`. */
  async function firstFetchEntry(server: HubServer) {
    const file = await probe(server, "acme/xet-model", "model.safetensors");
    const { accessToken } = await xetToken(file.tokenUrl);
    const reply = (await (
      await fetch(`${server.url}/v1/reconstructions/${file.hash}`, {
        headers: { Authorization: `Bearer ${accessToken}` },
      })
    ).json()) as { fetch_info: Record<string, Array<{ url: string; url_range: { start: number; end: number } }>> };
    const entry = Object.values(reply.fetch_info)[0]![0]!;
    return { entry, range: `bytes=${entry.url_range.start}-${entry.url_range.end}`, accessToken };
  }

  it("refuses xorb reads without the signed Range, with another Range, with Authorization, or expired", async () => {
    const { entry, range, accessToken } = await firstFetchEntry(hub);
    const get = (url: string, headers: Record<string, string>) => fetch(url, { headers });
    expect((await get(entry.url, { Range: range })).status).toBe(206);
    expect((await get(entry.url, {})).status).toBe(403);
    expect((await get(entry.url, { Range: `bytes=${entry.url_range.start}-${entry.url_range.end - 1}` })).status).toBe(
      403,
    );
    expect((await get(entry.url, { Range: range, Authorization: `Bearer ${accessToken}` })).status).toBe(400);
    expect(
      (await get(entry.url.replace(/X-Xet-Signature=[^&]+/, "X-Xet-Signature=forged"), { Range: range })).status,
    ).toBe(403);
    const expired = await firstFetchEntry(expiredUrls);
    const refused = await get(expired.entry.url, { Range: expired.range });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toMatch(/Request has expired/);
  });

  describe("fault kinds", () => {
    const refusal = async (fault: XetFault, path = "model.safetensors") => {
      hub.setFaults(
        faults.always(
          { xet: fault },
          (request) => request.route === "xet-xorb" || request.route === "xet-reconstruction",
        ),
      );
      try {
        const error = await xetDownload(hub, path).then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(error, fault).toBeInstanceOf(XetFormatError);
        return error as XetFormatError;
      } finally {
        hub.setFaults(undefined);
      }
    };

    it.each(XET_FAULT_REFUSALS)("%s is refused by the client core with code %s", async (fault, code, message) => {
      const error = await refusal(fault);
      expect(error.code).toBe(code);
      expect(error.message).toMatch(message);
    });

    it("answers an expired token and a refused pre-signed URL on request", async () => {
      hub.setFaults(
        faults.first(
          faults.times(1, faults.xetTokenExpired(), match.xetReconstruction),
          faults.times(1, faults.xorbAccessDenied(), match.xetXorb),
        ),
      );
      try {
        await expect(xetDownload(hub, "tiny.bin")).rejects.toThrow("HTTP 401 from the CAS");
        await expect(xetDownload(hub, "tiny.bin")).rejects.toThrow("HTTP 403 from the xorb host");
        expect(sha256(await xetDownload(hub, "tiny.bin"))).toBe(content("tiny.bin").sha256);
      } finally {
        hub.setFaults(undefined);
      }
    });
  });
});
