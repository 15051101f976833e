/** resolve/raw over real HTTP: headers huggingface_hub reads, Range, errors, gating, privacy. */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lfsPointer, startHubServer, type HubServer } from "../../src/serve/index.js";
import { parseRange } from "../../src/serve/range.js";
import { pseudoRandomBytes, writeHubRepo, type FixtureFile, type WrittenHubRepo } from "../helpers/hub-fixture.js";
import { makeTempDir, removeDir } from "./harness.js";

const ACCEPTED = "hf_acceptedResolveToken0000000000";
let root: string;
let hub: HubServer;
let repo: WrittenHubRepo;
let big: FixtureFile;
let text: FixtureFile;

beforeAll(async () => {
  root = await makeTempDir("serve-resolve-");
  repo = await writeHubRepo(root, {
    repoId: "acme/tiny",
    files: {
      "config.json": '{"hidden_size": 16}\n',
      "weights/big.bin": pseudoRandomBytes(3 * 1024 * 1024 + 5), // several read chunks
      "empty.txt": "",
      "with space & ü.txt": "odd name\n",
    },
    extraCommits: [{ files: { "config.json": "{}\n" }, refs: ["refs/pr/1"] }],
  });
  await writeHubRepo(root, { repoId: "acme/data", repoType: "dataset", files: { "train.csv": "a,b\n" } });
  await writeHubRepo(root, { repoId: "acme/gated", files: { "config.json": "{}\n" }, gated: true });
  await writeHubRepo(root, { repoId: "acme/secret", files: { "config.json": "{}\n" }, private: true });
  big = repo.files.find((file) => file.path === "weights/big.bin")!;
  text = repo.files.find((file) => file.path === "config.json")!;
  hub = await startHubServer({ root, tokens: [ACCEPTED] });
});

afterAll(async () => {
  await hub?.close();
  await removeDir(root);
});

const resolveUrl = (path: string, revision = "main", repoId = "acme/tiny") =>
  `${hub.url}/${repoId}/resolve/${revision}/${path}`;
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

describe("resolve", () => {
  it("serves a git file with a quoted git-blob ETag, X-Repo-Commit, length and ranges, no X-Linked-*", async () => {
    const response = await fetch(resolveUrl("config.json"));
    expect(response.status).toBe(200);
    expect(response.headers.get("etag")).toBe(`"${text.gitOid}"`);
    expect(response.headers.get("x-repo-commit")).toBe(repo.commit);
    expect(response.headers.get("content-length")).toBe(String(text.size));
    expect(response.headers.get("accept-ranges")).toBe("bytes");
    expect(response.headers.get("x-linked-etag")).toBeNull();
    expect(response.headers.get("x-linked-size")).toBeNull();
    expect(Buffer.from(await response.arrayBuffer())).toEqual(text.content);
  });

  it("serves an LFS file whole, with its sha256 as ETag and X-Linked-Etag, and X-Linked-Size", async () => {
    const response = await fetch(resolveUrl("weights/big.bin"));
    expect(response.headers.get("etag")).toBe(`"${big.sha256}"`);
    expect(response.headers.get("x-linked-etag")).toBe(`"${big.sha256}"`);
    expect(response.headers.get("x-linked-size")).toBe(String(big.size));
    expect(sha256(Buffer.from(await response.arrayBuffer()))).toBe(big.sha256);
  });

  it("answers HEAD with the same headers and no body", async () => {
    const head = await fetch(resolveUrl("weights/big.bin"), { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(big.size));
    expect(head.headers.get("x-linked-size")).toBe(String(big.size));
    expect((await head.arrayBuffer()).byteLength).toBe(0);
  });

  it("answers Range requests: a-b, a-, -n, clamped ends; 416 past the end; ignores invalid or multiple ranges", async () => {
    const cases: Array<[string, number, string | null, [number, number] | null]> = [
      ["bytes=0-0", 206, `bytes 0-0/${big.size}`, [0, 1]],
      ["bytes=10-19", 206, `bytes 10-19/${big.size}`, [10, 20]],
      [`bytes=${big.size - 3}-`, 206, `bytes ${big.size - 3}-${big.size - 1}/${big.size}`, [big.size - 3, big.size]],
      ["bytes=-4", 206, `bytes ${big.size - 4}-${big.size - 1}/${big.size}`, [big.size - 4, big.size]],
      [`bytes=5-${big.size + 100}`, 206, `bytes 5-${big.size - 1}/${big.size}`, [5, big.size]],
      [`bytes=${big.size}-`, 416, `bytes */${big.size}`, null],
      ["bytes=-0", 416, `bytes */${big.size}`, null],
      ["bytes=9-3", 200, null, [0, big.size]],
      ["bytes=0-1,5-6", 200, null, [0, big.size]],
      ["items=0-1", 200, null, [0, big.size]],
    ];
    for (const [range, status, contentRange, slice] of cases) {
      const response = await fetch(resolveUrl("weights/big.bin"), { headers: { Range: range } });
      const body = Buffer.from(await response.arrayBuffer());
      expect([range, response.status, response.headers.get("content-range")]).toEqual([range, status, contentRange]);
      if (slice) {
        const expected = big.content.subarray(slice[0], slice[1]);
        expect(response.headers.get("content-length")).toBe(String(expected.length));
        expect(body.equals(expected)).toBe(true);
      }
    }
  });

  it("serves an empty file, percent-encoded names, datasets, commits and PR refs", async () => {
    const empty = await fetch(resolveUrl("empty.txt"));
    expect([empty.status, empty.headers.get("content-length"), (await empty.arrayBuffer()).byteLength]).toEqual([
      200,
      "0",
      0,
    ]);
    expect(await (await fetch(resolveUrl(encodeURIComponent("with space & ü.txt")))).text()).toBe("odd name\n");
    expect(await (await fetch(`${hub.url}/datasets/acme/data/resolve/main/train.csv`)).text()).toBe("a,b\n");
    expect(await (await fetch(resolveUrl("config.json", repo.commit))).text()).toBe(text.content.toString());
    const pr = await fetch(resolveUrl("config.json", "refs%2Fpr%2F1"));
    expect([await pr.text(), pr.headers.get("x-repo-commit")]).toEqual(["{}\n", repo.extraCommits[0]!.commit]);
  });

  it("raw serves the LFS pointer as git stores it", async () => {
    const response = await fetch(`${hub.url}/acme/tiny/raw/main/weights/big.bin`);
    expect(await response.text()).toBe(lfsPointer(big.sha256, big.size));
  });

  it("answers EntryNotFound with X-Repo-Commit, RevisionNotFound, RepoNotFound, and 405 for writes", async () => {
    const entry = await fetch(resolveUrl("nope.txt"));
    expect([entry.status, entry.headers.get("x-error-code"), entry.headers.get("x-repo-commit")]).toEqual([
      404,
      "EntryNotFound",
      repo.commit,
    ]);
    expect(await entry.json()).toEqual({ error: "Entry not found" });
    expect((await fetch(resolveUrl("weights"))).headers.get("x-error-code")).toBe("EntryNotFound"); // a directory
    const revision = await fetch(resolveUrl("config.json", "v9"));
    expect([revision.status, revision.headers.get("x-error-code")]).toEqual([404, "RevisionNotFound"]);
    const missing = await fetch(resolveUrl("config.json", "main", "acme/nope"));
    expect([missing.status, missing.headers.get("x-error-code")]).toEqual([401, "RepoNotFound"]);
    expect((await fetch(resolveUrl("config.json"), { method: "POST" })).status).toBe(405);
  });
});

describe("gated and private repos", () => {
  const withToken = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });

  it("gated content: 401 GatedRepo without a token, 403 with a wrong one, 200 with an accepted one", async () => {
    const anonymous = await fetch(resolveUrl("config.json", "main", "acme/gated"));
    expect([anonymous.status, anonymous.headers.get("x-error-code")]).toEqual([401, "GatedRepo"]);
    expect(anonymous.headers.get("x-error-message")).toBe(
      "Access to model acme/gated is restricted. You must have access to it and be authenticated to access it. Please log in.",
    );
    const wrong = await fetch(resolveUrl("config.json", "main", "acme/gated"), withToken("hf_wrong"));
    expect([wrong.status, wrong.headers.get("x-error-code")]).toEqual([403, "GatedRepo"]);
    expect(((await wrong.json()) as { error: string }).error).toContain("not in the authorized list");
    const accepted = await fetch(resolveUrl("config.json", "main", "acme/gated"), withToken(ACCEPTED));
    expect([accepted.status, await accepted.text()]).toEqual([200, "{}\n"]);
  });

  it("gated metadata stays public, as on the Hub, and says gated", async () => {
    const info = await fetch(`${hub.url}/api/models/acme/gated`);
    expect([info.status, ((await info.json()) as { gated: unknown }).gated]).toEqual([200, "auto"]);
    expect((await fetch(`${hub.url}/api/models/acme/gated/tree/main`)).status).toBe(200);
  });

  it("a private repo looks missing unless the token is accepted", async () => {
    for (const url of [`${hub.url}/api/models/acme/secret`, resolveUrl("config.json", "main", "acme/secret")]) {
      const anonymous = await fetch(url);
      expect([anonymous.status, anonymous.headers.get("x-error-code")]).toEqual([401, "RepoNotFound"]);
      const wrong = await fetch(url, withToken("hf_wrong"));
      expect([wrong.status, wrong.headers.get("x-error-code")]).toEqual([404, "RepoNotFound"]);
      expect((await fetch(url, withToken(ACCEPTED))).status).toBe(200);
    }
  });

  it("never records a token", () => {
    expect(JSON.stringify(hub.requests)).not.toContain(ACCEPTED);
    expect(hub.requests.some((request) => request.hasAuthorization)).toBe(true);
  });
});

describe("parseRange", () => {
  it("follows RFC 9110 for single ranges", () => {
    expect(parseRange(undefined, 10)).toEqual({ kind: "full" });
    expect(parseRange("bytes=0-", 10)).toEqual({ kind: "partial", start: 0, end: 9 });
    expect(parseRange("bytes = 2 - 3", 10)).toEqual({ kind: "partial", start: 2, end: 3 });
    expect(parseRange("bytes=-20", 10)).toEqual({ kind: "partial", start: 0, end: 9 });
    expect(parseRange("bytes=0-99999999999999999999999", 10)).toEqual({ kind: "partial", start: 0, end: 9 });
    expect(parseRange("bytes=0-0", 0)).toEqual({ kind: "unsatisfiable" });
    expect(parseRange("bytes=-", 10)).toEqual({ kind: "full" });
    expect(parseRange("bytes=a-b", 10)).toEqual({ kind: "full" });
  });
});
