/** The JSON API routes over real HTTP: repo info, tree (order, oids, pagination), paths-info. */
import { execFileSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lfsPointer, startHubServer, type HubServer } from "../../src/serve/index.js";
import { pseudoRandomBytes, writeHubRepo, type WrittenHubRepo } from "../helpers/hub-fixture.js";
import { makeTempDir, rawRequest, removeDir } from "./harness.js";

let root: string;
let hub: HubServer;
let repo: WrittenHubRepo;

const FILES = {
  "README.md": "# a\n",
  "config.json": '{"a": 1}\n',
  "a/b/deep.txt": "deep\n",
  "a/x.txt": "x\n",
  "a.b": "sorts before the directory a in git\n",
  a0: "sorts after the directory a\n",
  "model.safetensors": pseudoRandomBytes(3000),
  "onnx/model.onnx": pseudoRandomBytes(100, 3),
};

beforeAll(async () => {
  root = await makeTempDir("serve-api-");
  repo = await writeHubRepo(root, {
    repoId: "acme/tiny",
    files: FILES,
    refs: { main: "commit", "v1.0": "commit" },
    extraCommits: [{ files: { "config.json": "{}\n" }, refs: ["refs/pr/1"] }],
  });
  await writeHubRepo(root, { repoId: "gpt2", files: { "config.json": "{}\n" } });
  await writeHubRepo(root, { repoId: "acme/data", repoType: "dataset", files: { "train.csv": "a,b\n" } });
  await writeHubRepo(root, { repoId: "acme/app", repoType: "space", files: { "app.py": "print()\n" } });
  hub = await startHubServer({ root });
});

afterAll(async () => {
  await hub?.close();
  await removeDir(root);
});

async function getJson(path: string, init?: RequestInit): Promise<{ status: number; headers: Headers; json: unknown }> {
  const response = await fetch(hub.url + path, init);
  return { status: response.status, headers: response.headers, json: await response.json() };
}

describe("repo info", () => {
  it("answers /api/models/{repo} at main with sha and siblings", async () => {
    const { status, json } = await getJson("/api/models/acme/tiny");
    expect(status).toBe(200);
    expect(json).toMatchObject({
      id: "acme/tiny",
      modelId: "acme/tiny",
      author: "acme",
      sha: repo.commit,
      private: false,
      gated: false,
      disabled: false,
    });
    expect((json as { siblings: unknown[] }).siblings).toEqual(
      Object.keys(FILES)
        .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
        .map((rfilename) => ({ rfilename })),
    );
    expect((json as { _id: string })._id).toMatch(/^[0-9a-f]{24}$/);
  });

  it("resolves a revision by branch, tag, commit, HEAD and percent-encoded PR ref", async () => {
    for (const [revision, commit] of [
      ["main", repo.commit],
      ["v1.0", repo.commit],
      ["HEAD", repo.commit],
      [repo.commit, repo.commit],
      ["refs%2Fpr%2F1", repo.extraCommits[0]!.commit],
      [repo.extraCommits[0]!.commit, repo.extraCommits[0]!.commit],
    ] as const) {
      const { status, json } = await getJson(`/api/models/acme/tiny/revision/${revision}`);
      expect([revision, status, (json as { sha: string }).sha]).toEqual([revision, 200, commit]);
    }
  });

  it("adds size, blobId and lfs with ?blobs=true", async () => {
    const { json } = await getJson("/api/models/acme/tiny/revision/main?blobs=true");
    const siblings = (json as { siblings: Array<Record<string, unknown>> }).siblings;
    const weights = repo.files.find((file) => file.path === "model.safetensors")!;
    const pointer = lfsPointer(weights.sha256, weights.size);
    expect(siblings.find((sibling) => sibling.rfilename === "model.safetensors")).toEqual({
      rfilename: "model.safetensors",
      size: weights.size,
      blobId: execFileSync("git", ["hash-object", "--stdin"], { input: pointer }).toString().trim(),
      lfs: { sha256: weights.sha256, size: weights.size, pointerSize: Buffer.byteLength(pointer) },
    });
    const config = repo.files.find((file) => file.path === "config.json")!;
    expect(siblings.find((sibling) => sibling.rfilename === "config.json")).toEqual({
      rfilename: "config.json",
      size: config.size,
      blobId: config.gitOid,
    });
  });

  it("serves single-segment ids, datasets and spaces", async () => {
    expect((await getJson("/api/models/gpt2")).json).toMatchObject({ id: "gpt2" });
    expect((await getJson("/api/models/gpt2/revision/main")).json).toMatchObject({ id: "gpt2" });
    expect((await getJson("/api/datasets/acme/data")).json).toMatchObject({ id: "acme/data" });
    expect((await getJson("/api/spaces/acme/app/revision/main")).json).toMatchObject({ id: "acme/app", sdk: "static" });
    // A dataset is not a model.
    expect((await getJson("/api/models/acme/data")).status).toBe(401);
  });

  it("answers RevisionNotFound and RepoNotFound like the Hub", async () => {
    const revision = await getJson("/api/models/acme/tiny/revision/nope");
    expect(revision.status).toBe(404);
    expect(revision.headers.get("x-error-code")).toBe("RevisionNotFound");
    expect(revision.headers.get("x-error-message")).toBe("Invalid rev id: nope");
    expect(revision.json).toEqual({ error: "Invalid rev id: nope" });

    const anonymous = await getJson("/api/models/acme/missing");
    expect([anonymous.status, anonymous.headers.get("x-error-code")]).toEqual([401, "RepoNotFound"]);
    const withToken = await getJson("/api/models/acme/missing", { headers: { Authorization: "Bearer hf_x" } });
    expect([withToken.status, withToken.headers.get("x-error-code")]).toEqual([404, "RepoNotFound"]);
    expect(withToken.json).toEqual({ error: "Repository not found" });
  });

  it("answers 404 without an error code for paths that are no route", async () => {
    const { status, headers } = await getJson("/api/whatever");
    expect(status).toBe(404);
    expect(headers.get("x-error-code")).toBeNull();
  });
});

describe("tree", () => {
  type Entry = {
    type: string;
    path: string;
    oid: string;
    size: number;
    lfs?: { oid: string; size: number; pointerSize: number };
  };

  it("lists the root: directories first, then files, each in byte order", async () => {
    const { json } = await getJson("/api/models/acme/tiny/tree/main");
    expect((json as Entry[]).map((entry) => `${entry.type} ${entry.path}`)).toEqual([
      "directory a",
      "directory onnx",
      "file README.md",
      "file a.b",
      "file a0",
      "file config.json",
      "file model.safetensors",
    ]);
  });

  it("lists recursively depth-first, each directory followed by its contents", async () => {
    const { json } = await getJson("/api/models/acme/tiny/tree/main?recursive=true&expand=false");
    expect((json as Entry[]).map((entry) => entry.path)).toEqual([
      "a",
      "a/b",
      "a/b/deep.txt",
      "a/x.txt",
      "onnx",
      "onnx/model.onnx",
      "README.md",
      "a.b",
      "a0",
      "config.json",
      "model.safetensors",
    ]);
  });

  it("reports the oids git computes: blob ids (of the pointer for LFS) and tree ids", async () => {
    // Build the same commit with real git: LFS files committed as their pointers.
    const gitDir = join(root, "git-check");
    await mkdir(gitDir, { recursive: true });
    for (const file of repo.files) {
      await mkdir(join(gitDir, file.path, ".."), { recursive: true });
      await writeFile(join(gitDir, file.path), file.lfs ? lfsPointer(file.sha256, file.size) : file.content);
    }
    const git = (...args: string[]) =>
      execFileSync("git", ["-C", gitDir, ...args])
        .toString()
        .trim();
    git("init", "-q");
    git("add", "-A");
    const tree = git("write-tree");
    const { json } = await getJson("/api/models/acme/tiny/tree/main?recursive=true");
    for (const entry of json as Entry[]) {
      expect([entry.path, entry.oid]).toEqual([entry.path, git("rev-parse", `${tree}:${entry.path}`)]);
      if (entry.type === "directory") expect(entry.size).toBe(0);
    }
    const weights = (json as Entry[]).find((entry) => entry.path === "model.safetensors")!;
    expect(weights.lfs).toEqual({
      oid: repo.files.find((file) => file.path === "model.safetensors")!.sha256,
      size: 3000,
      pointerSize: 129,
    });
    expect(weights.size).toBe(3000);
  });

  it("lists a sub-folder, by plain or percent-encoded path, and 404s a missing one", async () => {
    const plain = await getJson("/api/models/acme/tiny/tree/main/a/b");
    expect((plain.json as Entry[]).map((entry) => entry.path)).toEqual(["a/b/deep.txt"]);
    const encoded = await getJson("/api/models/acme/tiny/tree/main/a%2Fb");
    expect(encoded.json).toEqual(plain.json);
    const missing = await getJson("/api/models/acme/tiny/tree/main/nope");
    expect([missing.status, missing.headers.get("x-error-code"), missing.headers.get("x-repo-commit")]).toEqual([
      404,
      "EntryNotFound",
      repo.commit,
    ]);
  });

  it("accepts a PR ref encoded or not", async () => {
    const encoded = await getJson("/api/models/acme/tiny/tree/refs%2Fpr%2F1?recursive=true");
    const plain = await getJson("/api/models/acme/tiny/tree/refs/pr/1?recursive=true");
    expect((encoded.json as Entry[]).map((entry) => entry.path)).toEqual(["config.json"]);
    expect(plain.json).toEqual(encoded.json);
    expect((await getJson("/api/models/acme/tiny/tree/nope")).headers.get("x-error-code")).toBe("RevisionNotFound");
  });

  it("adds lastCommit with expand=true", async () => {
    const { json } = await getJson("/api/models/acme/tiny/tree/main?expand=true");
    expect((json as Array<{ lastCommit: { id: string } }>)[0]!.lastCommit.id).toBe(repo.commit);
  });
});

describe("tree pagination", () => {
  let pagedRoot: string;
  let paged: HubServer;
  beforeAll(async () => {
    pagedRoot = await makeTempDir("serve-pages-");
    await writeHubRepo(pagedRoot, {
      repoId: "acme/five",
      files: Object.fromEntries(["1", "2", "3", "4", "5"].map((n) => [`f${n}.txt`, n])),
    });
    paged = await startHubServer({ root: pagedRoot, pageSize: 2 });
  });
  afterAll(async () => {
    await paged?.close();
    await removeDir(pagedRoot);
  });

  async function follow(firstUrl: string): Promise<{ pages: string[][]; links: Array<string | null> }> {
    const pages: string[][] = [];
    const links: Array<string | null> = [];
    let url: string | undefined = firstUrl;
    while (url) {
      const response = await fetch(url);
      pages.push(((await response.json()) as Array<{ path: string }>).map((entry) => entry.path));
      const link = response.headers.get("link");
      links.push(link);
      url = link ? /^<([^>]+)>;\s*rel="next"$/.exec(link)![1] : undefined;
    }
    return { pages, links };
  }

  it("serves 5 files as pages of 2 with absolute Link URLs, every entry once, no Link on the last page", async () => {
    const { pages, links } = await follow(`${paged.url}/api/models/acme/five/tree/main?recursive=true&expand=false`);
    expect(pages).toEqual([["f1.txt", "f2.txt"], ["f3.txt", "f4.txt"], ["f5.txt"]]);
    expect(links[2]).toBeNull();
    const next = new URL(/^<([^>]+)>/.exec(links[0]!)![1]!);
    expect(next.origin).toBe(paged.url);
    expect(next.searchParams.get("recursive")).toBe("true");
    expect(next.searchParams.get("expand")).toBe("false");
    expect(next.searchParams.get("cursor")).toBeTruthy();
  });

  it("builds Link from the Host the client used", async () => {
    const port = new URL(paged.url).port;
    // fetch may not set Host; a raw request can (as a reverse proxy or the 127.0.0.2 alias would).
    const response = await rawRequest(paged.url, "/api/models/acme/five/tree/main", {
      headers: { Host: `localhost:${port}` },
    });
    expect(response.headers["link"]).toMatch(
      new RegExp(`^<http://localhost:${port}/api/models/acme/five/tree/main\\?cursor=`),
    );
  });

  it("honours a smaller limit and refuses a cursor it did not issue", async () => {
    const { pages } = await follow(`${paged.url}/api/models/acme/five/tree/main?limit=1`);
    expect(pages).toEqual([["f1.txt"], ["f2.txt"], ["f3.txt"], ["f4.txt"], ["f5.txt"]]);
    const bad = await fetch(`${paged.url}/api/models/acme/five/tree/main?cursor=garbage`);
    expect(bad.status).toBe(400);
  });
});

describe("paths-info", () => {
  it("answers JSON (as @huggingface/hub posts) and forms (as huggingface_hub posts), skipping missing paths", async () => {
    const url = `${hub.url}/api/models/acme/tiny/paths-info/main`;
    const json = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ paths: ["config.json", "a", "missing", "model.safetensors"], expand: true }),
    });
    const entries = (await json.json()) as Array<{
      path: string;
      type: string;
      lastCommit?: { id: string };
      lfs?: unknown;
    }>;
    expect(entries.map((entry) => `${entry.type} ${entry.path}`)).toEqual([
      "file config.json",
      "directory a",
      "file model.safetensors",
    ]);
    expect(entries[0]!.lastCommit?.id).toBe(repo.commit);
    expect(entries[2]!.lfs).toBeDefined();

    const form = await fetch(url, {
      method: "POST",
      body: new URLSearchParams([
        ["paths", "a/x.txt"],
        ["paths", "../etc/passwd"],
        ["expand", "False"],
      ]),
    });
    expect((await form.json()) as Array<{ path: string; lastCommit?: unknown }>).toEqual([
      { type: "file", oid: repo.files.find((file) => file.path === "a/x.txt")!.gitOid, size: 2, path: "a/x.txt" },
    ]);
    expect((await fetch(url)).status).toBe(405);
    const huge = await fetch(url, { method: "POST", body: JSON.stringify({ paths: ["x".repeat(2 * 1024 * 1024)] }) });
    expect(huge.status).toBe(413);
  });
});
