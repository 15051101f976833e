/**
 * Hostile clients and hostile folders: traversal in URLs is refused before any lookup, and a
 * snapshot that links outside its repo's blobs/ is never served. Also the treeOverride that
 * lets fetcher tests serve hostile listings on purpose.
 */
import { mkdir, rename, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHubServer, type HubServer } from "../../src/serve/index.js";
import { writeHubRepo, type WrittenHubRepo } from "../helpers/hub-fixture.js";
import { makeTempDir, rawRequest, removeDir } from "./harness.js";

const SECRET = "top secret outside every repo\n";
let base: string;
let root: string;
let hub: HubServer;
let repo: WrittenHubRepo;
const warnings: string[] = [];

beforeAll(async () => {
  base = await makeTempDir("serve-hostile-");
  root = join(base, "cache");
  await writeFile(join(base, "secret.txt"), SECRET);
  repo = await writeHubRepo(root, { repoId: "acme/tiny", files: { "config.json": "{}\n", "sub/ok.txt": "ok\n" } });
  const other = await writeHubRepo(root, { repoId: "acme/other", files: { "other.txt": "belongs to another repo\n" } });
  const snapshot = join(repo.folder, "snapshots", repo.commit);
  // A snapshot entry pointing outside the repo, one into another repo's blobs, one absolute.
  await symlink("../../../../secret.txt", join(snapshot, "escape.txt"));
  await symlink(join(other.folder, "blobs", other.files[0]!.etag), join(snapshot, "cross-repo.txt"));
  await symlink("/etc/passwd", join(snapshot, "passwd"));
  // A directory symlink leading out of the snapshot.
  await symlink(base, join(snapshot, "linked-dir"));
  // A snapshot folder that is itself a link to somewhere else.
  await mkdir(join(base, "elsewhere"));
  await writeFile(join(base, "elsewhere", "file.txt"), SECRET);
  await symlink(join(base, "elsewhere"), join(repo.folder, "snapshots", "f".repeat(40)));
  // A repo whose blobs/ is a link to the filesystem root.
  const rooted = await writeHubRepo(root, { repoId: "acme/rooted", files: { "config.json": "{}\n" } });
  await rename(join(rooted.folder, "blobs"), join(rooted.folder, "real-blobs"));
  await symlink("/", join(rooted.folder, "blobs"));
  await symlink("../../etc/passwd", join(rooted.folder, "snapshots", rooted.commit, "passwd"));

  hub = await startHubServer({ root, onWarning: (message) => warnings.push(message) });
});

afterAll(async () => {
  await hub?.close();
  await removeDir(base);
});

describe("traversal in URLs", () => {
  const attempts = [
    "/acme/tiny/resolve/main/../../../secret.txt",
    "/acme/tiny/resolve/main/%2e%2e/%2e%2e/secret.txt",
    "/acme/tiny/resolve/main/..%2f..%2f..%2fsecret.txt",
    "/acme/tiny/resolve/main/sub%2F..%2F..%2Fconfig.json",
    "/acme/tiny/resolve/%2e%2e/config.json",
    "/acme/tiny/resolve/main/./config.json",
    "/acme/tiny/resolve/main/config.json%00.txt",
    "/acme/tiny/resolve/main/..%5c..%5csecret.txt",
    "/acme/tiny/resolve/main/%E0%A4%A",
    "/api/models/acme/tiny/tree/main/..",
    "/api/models/acme/tiny/tree/main/sub%2F..%2F..",
    "/api/models/../../etc/revision/main",
  ];

  it.each(attempts)("refuses %s with 400 before any lookup", async (path) => {
    const response = await rawRequest(hub.url, path);
    expect(response.status).toBe(400);
    expect(response.body.toString()).not.toContain("secret");
    expect(hub.requests.at(-1)?.route).toBe("bad-request");
  });
});

describe("links out of the repo", () => {
  it("serves none of them and lists none of them", async () => {
    for (const path of ["escape.txt", "cross-repo.txt", "passwd", "linked-dir/secret.txt"]) {
      const response = await fetch(`${hub.url}/acme/tiny/resolve/main/${path}`);
      expect([path, response.status, response.headers.get("x-error-code")]).toEqual([path, 404, "EntryNotFound"]);
    }
    const tree = (await (await fetch(`${hub.url}/api/models/acme/tiny/tree/main?recursive=true`)).json()) as Array<{
      path: string;
    }>;
    expect(tree.map((entry) => entry.path)).toEqual(["sub", "sub/ok.txt", "config.json"]);
    const revision = await fetch(`${hub.url}/api/models/acme/tiny/revision/${"f".repeat(40)}`);
    expect(revision.headers.get("x-error-code")).toBe("RevisionNotFound");
  });

  it("ignores a blobs/ folder that links elsewhere", async () => {
    const response = await fetch(`${hub.url}/acme/rooted/resolve/main/passwd`);
    expect(response.status).toBe(404);
    expect((await fetch(`${hub.url}/acme/rooted/resolve/main/config.json`)).status).toBe(404);
  });

  it("warns about each one", () => {
    const text = warnings.join("\n");
    for (const fragment of [
      "escape.txt",
      "cross-repo.txt",
      "passwd",
      "linked-dir",
      "f".repeat(40),
      "not a blobs/ folder",
    ]) {
      expect(text).toContain(fragment);
    }
  });
});

describe("treeOverride", () => {
  it("serves a hand-made hostile listing verbatim, paginated, only where asked", async () => {
    const hostile = [
      { type: "file", path: "../x", oid: "0".repeat(40), size: 1 },
      { type: "file", path: "/etc/passwd", oid: "1".repeat(40), size: 1 },
      { type: "file", path: "a/./b", oid: "2".repeat(40), size: 1 },
      { type: "file", path: "dup.txt", oid: "3".repeat(40), size: 1 },
      { type: "file", path: "dup.txt", oid: "4".repeat(40), size: 1 },
    ];
    const seen: unknown[] = [];
    const overridden = await startHubServer({
      root,
      pageSize: 2,
      onWarning: () => undefined,
      treeOverride: (request) => {
        seen.push(request);
        return request.repo.id === "acme/tiny" ? hostile : undefined;
      },
    });
    try {
      const entries: unknown[] = [];
      let url: string | undefined = `${overridden.url}/api/models/acme/tiny/tree/main?recursive=true`;
      while (url) {
        const response: Response = await fetch(url);
        entries.push(...((await response.json()) as unknown[]));
        url = /<([^>]+)>/.exec(response.headers.get("link") ?? "")?.[1];
      }
      expect(entries).toEqual(hostile);
      expect(seen[0]).toEqual({
        repo: { type: "model", id: "acme/tiny" },
        revision: "main",
        commit: repo.commit,
        path: "",
        recursive: true,
      });
      const other = (await (await fetch(`${overridden.url}/api/models/acme/other/tree/main`)).json()) as Array<{
        path: string;
      }>;
      expect(other.map((entry) => entry.path)).toEqual(["other.txt"]);
      overridden.setTreeOverride(undefined);
      const real = (await (await fetch(`${overridden.url}/api/models/acme/tiny/tree/main?limit=100`)).json()) as Array<{
        path: string;
      }>;
      expect(real.map((entry) => entry.path)).toEqual(["sub", "config.json"]);
    } finally {
      await overridden.close();
    }
  });
});
