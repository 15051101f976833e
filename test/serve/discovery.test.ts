/** Which folders are served under which ids: HF caches, fetched outputs, result links, odd layouts. */
import { createHash } from "node:crypto";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { gitBlobOid, startHubServer, type HubServer } from "../../src/serve/index.js";
import { writeHubRepo } from "../helpers/hub-fixture.js";
import { makeTempDir, removeDir } from "./harness.js";

let dirs: string[] = [];
let servers: HubServer[] = [];

async function tempDir(): Promise<string> {
  const dir = await makeTempDir("serve-discovery-");
  dirs.push(dir);
  return dir;
}

async function serve(root: string): Promise<{ hub: HubServer; warnings: string[] }> {
  const warnings: string[] = [];
  const hub = await startHubServer({ root, onWarning: (message) => warnings.push(message) });
  servers.push(hub);
  return { hub, warnings };
}

afterEach(async () => {
  await Promise.all(servers.map((server) => server.close()));
  await Promise.all(dirs.map(removeDir));
  servers = [];
  dirs = [];
});

const ids = (hub: HubServer) =>
  hub
    .repos()
    .map((repo) => `${repo.type}:${repo.id}`)
    .sort();

describe("discovery", () => {
  it("serves an HF cache's models, datasets and spaces, ignoring .locks and CACHEDIR.TAG", async () => {
    const root = await tempDir();
    await writeHubRepo(root, { repoId: "acme/tiny", files: { "a.txt": "a" } });
    await writeHubRepo(root, { repoId: "gpt2", files: { "a.txt": "a" } });
    await writeHubRepo(root, { repoId: "acme/data", repoType: "dataset", files: { "a.txt": "a" } });
    await writeHubRepo(root, { repoId: "acme/app", repoType: "space", files: { "a.txt": "a" } });
    await mkdir(join(root, ".locks", "models--acme--tiny"), { recursive: true });
    await writeFile(join(root, "CACHEDIR.TAG"), "Signature: 8a477f597d28d172789f06886806bc55\n");
    const { hub, warnings } = await serve(root);
    expect(ids(hub)).toEqual(["dataset:acme/data", "model:acme/tiny", "model:gpt2", "space:acme/app"]);
    expect(warnings).toEqual([]);
  });

  it("serves fetched outputs by the repo named in their meta file, through result links too", async () => {
    const store = await tempDir();
    const root = await tempDir();
    await writeHubRepo(root, {
      repoId: "ignored",
      folderName: "out1",
      files: { "a.txt": "a" },
      meta: { source: { repo: "acme/fetched", repoType: "model" } },
    });
    await writeHubRepo(store, {
      repoId: "ignored",
      folderName: "abc123-model",
      files: { "b.txt": "b" },
      meta: { source: { huggingface: { repo: "acme/nested-source", repoType: "datasets" } } },
    });
    await symlink(join(store, "abc123-model"), join(root, "result"));
    await writeHubRepo(root, {
      repoId: "ignored",
      folderName: "s3-model",
      files: { "c.txt": "c" },
      meta: { source: { s3: { bucket: "b" } } },
    });
    await mkdir(join(root, "ollama-model"));
    await writeFile(
      join(root, "ollama-model", ".nix-model-repo-meta.json"),
      JSON.stringify({ source: { repo: "library/llama" } }),
    );
    const { hub, warnings } = await serve(root);
    expect(ids(hub)).toEqual(["dataset:acme/nested-source", "model:acme/fetched"]);
    expect(warnings.join("\n")).toMatch(/s3-model: .*names no Hub repo/);
    expect(warnings.join("\n")).toMatch(/ollama-model: .*no snapshots/);
    expect(await (await fetch(`${hub.url}/datasets/acme/nested-source/resolve/main/b.txt`)).text()).toBe("b");
  });

  it("serves a validated output whose blobs/, refs/ and snapshots/ link to the raw output", async () => {
    const store = await tempDir();
    const raw = await writeHubRepo(store, {
      repoId: "x",
      folderName: "raw",
      files: { "w.bin": "weights", "c.json": "{}" },
    });
    const validated = join(store, "validated");
    await mkdir(validated);
    for (const name of ["blobs", "refs", "snapshots"]) await symlink(join(raw.folder, name), join(validated, name));
    await writeFile(
      join(validated, ".nix-model-repo-meta.json"),
      JSON.stringify({ source: { repo: "acme/validated" } }),
    );
    const { hub, warnings } = await serve(validated);
    expect(ids(hub)).toEqual(["model:acme/validated"]);
    expect(warnings).toEqual([]);
    const response = await fetch(`${hub.url}/acme/validated/resolve/main/w.bin`);
    expect([await response.text(), response.headers.get("x-linked-size")]).toEqual(["weights", "7"]);
  });

  it("serves DIR itself when it is one cache repo folder", async () => {
    const root = await tempDir();
    const repo = await writeHubRepo(root, { repoId: "acme/solo", files: { "a.txt": "a" } });
    const { hub } = await serve(repo.folder);
    expect(ids(hub)).toEqual(["model:acme/solo"]);
  });

  it("hashes snapshot files that are plain copies (symlinks disabled), choosing LFS by extension", async () => {
    const root = await tempDir();
    const commit = "c".repeat(40);
    const snapshot = join(root, "models--acme--copies", "snapshots", commit);
    await mkdir(join(snapshot, "sub"), { recursive: true });
    await writeFile(join(snapshot, "sub", "config.json"), "{}\n");
    await writeFile(join(snapshot, "model.bin"), "not really weights");
    const { hub } = await serve(root);
    const tree = (await (await fetch(`${hub.url}/api/models/acme/copies/tree/main?recursive=true`)).json()) as Array<{
      path: string;
      oid: string;
      lfs?: { oid: string };
    }>;
    expect(tree.find((entry) => entry.path === "sub/config.json")?.oid).toBe(gitBlobOid("{}\n"));
    expect(tree.find((entry) => entry.path === "model.bin")?.lfs?.oid).toBe(
      createHash("sha256").update("not really weights").digest("hex"),
    );
    // No refs/: the only snapshot answers for main.
    expect(await (await fetch(`${hub.url}/acme/copies/resolve/main/model.bin`)).text()).toBe("not really weights");
  });

  it("tolerates a ref with a trailing newline, ignores refs to missing snapshots, skips duplicates and bad ids", async () => {
    const root = await tempDir();
    const repo = await writeHubRepo(root, { repoId: "acme/refs", files: { "a.txt": "a" }, refs: { main: "commit" } });
    await writeFile(join(repo.folder, "refs", "v1"), `${repo.commit}\n`);
    await writeFile(join(repo.folder, "refs", "gone"), "d".repeat(40));
    await writeHubRepo(root, {
      repoId: "acme/refs",
      folderName: "zz-copy",
      files: { "b.txt": "b" },
      meta: { source: { repo: "acme/refs" } },
    });
    await writeHubRepo(root, { repoId: "bad", folderName: "models--a--b--c", files: { "a.txt": "a" } });
    const { hub, warnings } = await serve(root);
    expect(hub.repos().find((served) => served.id === "acme/refs")?.refs).toEqual({
      main: repo.commit,
      v1: repo.commit,
    });
    const text = warnings.join("\n");
    expect(text).toContain("ignoring ref gone");
    expect(text).toMatch(/zz-copy: models\/acme\/refs is already served/);
    expect(text).toContain("'a/b/c' is not a valid repo id");
  });

  it("marks repos gated or private by option, for read-only folders without marker files", async () => {
    const root = await tempDir();
    await writeHubRepo(root, { repoId: "acme/tiny", files: { "a.txt": "a" } });
    await writeHubRepo(root, { repoId: "acme/data", repoType: "dataset", files: { "a.txt": "a" } });
    const warnings: string[] = [];
    const hub = await startHubServer({
      root,
      gated: ["acme/tiny", "acme/absent"],
      private: ["datasets/acme/data"],
      tokens: ["hf_option_token"],
      onWarning: (message) => warnings.push(message),
    });
    servers.push(hub);
    const gated = await fetch(`${hub.url}/acme/tiny/resolve/main/a.txt`);
    expect([gated.status, gated.headers.get("x-error-code")]).toEqual([401, "GatedRepo"]);
    expect((await fetch(`${hub.url}/api/datasets/acme/data`)).status).toBe(401);
    const authorized = { headers: { Authorization: "Bearer hf_option_token" } };
    expect((await fetch(`${hub.url}/datasets/acme/data/resolve/main/a.txt`, authorized)).status).toBe(200);
    expect(warnings).toEqual(["models/acme/absent is marked gated or private but is not served"]);
  });

  it("reload() picks up repos added after start", async () => {
    const root = await tempDir();
    const { hub } = await serve(root);
    expect(ids(hub)).toEqual([]);
    expect((await fetch(`${hub.url}/api/models/acme/late`)).status).toBe(401);
    await writeHubRepo(root, { repoId: "acme/late", files: { "a.txt": "a" } });
    await hub.reload();
    expect(ids(hub)).toEqual(["model:acme/late"]);
    expect((await fetch(`${hub.url}/api/models/acme/late`)).status).toBe(200);
  });
});
