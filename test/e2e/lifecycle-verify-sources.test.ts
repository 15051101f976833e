/**
 * `verify` for every source but the Hub (lifecycle-verify.test.ts has the Hub): a model
 * locked with `add`, then its server changed under it, each against a real server on
 * loopback — s3rver, a plain Node HTTP server, Debian's docker-registry as the Ollama
 * registry, the MLflow test server, git with git-lfs — asserting the state, the exit
 * status and, at the server, that no file's bytes were sent.
 */
import { createHash, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeleteObjectCommand } from "@aws-sdk/client-s3";
import { runCli } from "../helpers/cli.js";
import { nixAvailable } from "../helpers/nix.js";
import { type PrivateStore, privateStore } from "../helpers/private-store.js";
import { cleanAwsEnv, type S3TestServer, s3rverAvailable, startS3Server } from "../helpers/s3-server.js";
import {
  type DockerRegistry,
  hasDockerRegistry,
  OLLAMA_LAYER,
  type PushedModel,
  pushOllamaModel,
  startDockerRegistry,
  startRecordingProxy,
} from "../helpers/docker-registry.js";
import { type MlflowTestServer, startMlflowServer } from "../helpers/mlflow-server.js";
import { GitLfsServer, hasGitLfs } from "../helpers/git-lfs-server.js";
import { type PushedRepo, pushLfsRepo } from "../helpers/git-lfs-repo.js";

const MiB = 1024 * 1024;

interface Verified {
  readonly code: number | null;
  readonly stderr: string;
  readonly model: Record<string, unknown>;
}

describe.skipIf(!nixAvailable)("verify for S3, URLs, Ollama, MLflow and git-lfs", () => {
  let store: PrivateStore;
  let work: string;
  let lock: string;

  beforeAll(async () => {
    store = await privateStore();
    work = await mkdtemp(join(tmpdir(), "nmr-verify-sources-"));
    lock = join(work, "models.lock.json");
  });

  afterAll(async () => {
    await store?.close();
    await rm(work, { recursive: true, force: true });
  });

  const add = async (name: string, target: string, flags: string[], env: NodeJS.ProcessEnv = {}) => {
    const result = await runCli(["add", name, target, "--lock", lock, ...flags], { env: { ...store.env, ...env } });
    expect(result.code, result.stderr).toBe(0);
  };
  const verify = async (name: string, env: NodeJS.ProcessEnv = {}): Promise<Verified> => {
    const result = await runCli(["verify", name, "--lock", lock, "--json"], { env: { ...store.env, ...env } });
    const report = JSON.parse(result.stdout || "{}");
    return { code: result.code, stderr: result.stderr, model: report.models?.[0] ?? {} };
  };

  describe.skipIf(!s3rverAvailable)("S3: ETags from the listing and HEAD", () => {
    let s3: S3TestServer;
    const env = () => cleanAwsEnv;

    beforeAll(async () => {
      s3 = await startS3Server();
      await s3.createBucket("models");
      await s3.put("models", "tiny/config.json", JSON.stringify({ run: randomBytes(4).toString("hex") }));
      await s3.put("models", "tiny/weights.bin", randomBytes(MiB + 5));
      await add("s3tiny", "s3://models/tiny", ["--endpoint", s3.url, "--large-from", "1M"], env());
    });
    afterAll(async () => s3?.close());

    /** Object bodies the server sent during `action`: GETs of keys (listings have a query). */
    async function objectGets(action: () => Promise<Verified>): Promise<[Verified, string[]]> {
      const before = s3.requests.length;
      const result = await action();
      const gets = s3.requests
        .slice(before)
        .filter((request) => request.method === "GET" && !request.url.includes("?"))
        .map((request) => request.url);
      return [result, gets];
    }

    it("unchanged (exit 0), comparing ETags, with no object downloaded", async () => {
      const [result, gets] = await objectGets(() => verify("s3tiny", env()));
      expect(result.code, result.stderr).toBe(0);
      expect(result.model).toMatchObject({ state: "unchanged", comparedBy: { etag: 2 }, unverified: [] });
      expect(gets).toEqual([]);
    });

    it("moved (exit 10) when a key is added under the prefix", async () => {
      await s3.put("models", "tiny/tokenizer.json", "{}");
      const [result, gets] = await objectGets(() => verify("s3tiny", env()));
      expect(result.code, result.stderr).toBe(10);
      expect(result.model).toMatchObject({ state: "moved", moved: { added: 1, removed: 0, changed: 0 } });
      expect(gets).toEqual([]);
    });

    it("changed-in-place (exit 13) when an object is overwritten under the same key", async () => {
      await s3.put("models", "tiny/config.json", JSON.stringify({ run: "overwritten" }));
      const [result, gets] = await objectGets(() => verify("s3tiny", env()));
      expect(result.code, result.stderr).toBe(13);
      expect(result.model).toMatchObject({ state: "changed-in-place", inPlace: [{ path: "config.json" }] });
      expect(gets).toEqual([]);
    });

    it("gone (exit 11) when a locked object is deleted", async () => {
      await s3.put("models", "tiny/config.json", JSON.stringify({ run: "back" }));
      await s3.client.send(new DeleteObjectCommand({ Bucket: "models", Key: "tiny/weights.bin" }));
      const [result] = await objectGets(() => verify("s3tiny", env()));
      // The overwritten config.json is still the more serious finding.
      expect(result.code, result.stderr).toBe(13);
      await s3.client.send(new DeleteObjectCommand({ Bucket: "models", Key: "tiny/config.json" }));
      const [gone] = await objectGets(() => verify("s3tiny", env()));
      expect(gone.code, gone.stderr).toBe(11);
      expect(gone.model).toMatchObject({
        state: "gone",
        missing: ["config.json", "weights.bin"],
        reason: expect.stringContaining("weights.bin"),
      });
    });
  });

  describe("plain HTTP: one HEAD per URL", () => {
    let server: Server;
    let base: string;
    let body = randomBytes(4096);
    let status = 200;
    let reprDigest = false;
    const gets: string[] = [];

    beforeAll(async () => {
      server = createServer((request, response) => {
        if (request.method === "GET") gets.push(request.url ?? "");
        const headers: Record<string, string | number> = { "content-length": body.length, etag: '"v1"' };
        if (reprDigest) {
          headers["repr-digest"] = `sha-256=:${createHash("sha256").update(body).digest("base64")}:`;
        }
        response.writeHead(status, status === 200 ? headers : {});
        response.end(request.method === "GET" && status === 200 ? body : undefined);
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await add("web", `url:${base}/weights.bin`, []);
      gets.length = 0;
    });
    afterAll(async () => new Promise<void>((resolve) => server.close(() => resolve())));

    it("unchanged (exit 0) by size alone, and says only the size could be compared", async () => {
      const result = await verify("web");
      expect(result.code, result.stderr).toBe(0);
      expect(result.model).toMatchObject({ state: "unchanged", comparedBy: { size: 1 }, unverified: ["weights.bin"] });
      expect(gets).toEqual([]);
    });

    it("compares the content when the server sends a Repr-Digest, and sees a same-size rewrite", async () => {
      reprDigest = true;
      const same = await verify("web");
      expect(same.model).toMatchObject({ state: "unchanged", comparedBy: { sha256: 1 }, unverified: [] });
      body = randomBytes(4096);
      const rewritten = await verify("web");
      expect(rewritten.code, rewritten.stderr).toBe(13);
      expect(rewritten.model).toMatchObject({ state: "changed-in-place" });
      expect(gets).toEqual([]);
    });

    it("changed-in-place (exit 13) when the size differs, gone (exit 11) on a 404", async () => {
      reprDigest = false;
      body = randomBytes(5000);
      expect((await verify("web")).code).toBe(13);
      status = 404;
      const gone = await verify("web");
      expect(gone.code, gone.stderr).toBe(11);
      expect(gone.model).toMatchObject({
        state: "gone",
        missing: ["weights.bin"],
        reason: expect.stringContaining("HTTP 404"),
      });
      expect(gets).toEqual([]);
    });
  });

  describe.skipIf(!hasDockerRegistry)("Ollama: the manifest by tag and by digest", () => {
    let root: string;
    let registry: DockerRegistry;
    let proxy: Awaited<ReturnType<typeof startRecordingProxy>>;
    let first: PushedModel;
    const layers = () => [
      { mediaType: OLLAMA_LAYER("model"), bytes: randomBytes(MiB + 13) },
      {
        mediaType: OLLAMA_LAYER("params"),
        bytes: Buffer.from(JSON.stringify({ run: randomBytes(4).toString("hex") })),
      },
    ];
    const blobGets = () => proxy.requests.filter((r) => r.method === "GET" && r.path.includes("/blobs/"));

    beforeAll(async () => {
      root = await mkdtemp(join(tmpdir(), "nmr-verify-ollama-"));
      registry = await startDockerRegistry({ storage: join(root, "storage") });
      proxy = await startRecordingProxy(registry.url);
      first = await pushOllamaModel(registry.url, "library/tiny", "1", layers());
      await add("llama", `ollama:${proxy.url}/library/tiny:1`, ["--large-from", "1M"]);
      proxy.requests.length = 0;
    });
    afterAll(async () => {
      await proxy?.close();
      await registry?.close();
      await rm(root, { recursive: true, force: true });
    });

    it("unchanged (exit 0), comparing layer digests and the manifest's sha256, no blob downloaded", async () => {
      const result = await verify("llama");
      expect(result.code, result.stderr).toBe(0);
      expect(result.model).toMatchObject({
        state: "unchanged",
        revision: { recorded: first.manifestDigest, upstream: first.manifestDigest },
        comparedBy: { sha256: 4 },
      });
      expect(blobGets()).toEqual([]);
    });

    it("moved (exit 10) when the tag names another manifest", async () => {
      const second = await pushOllamaModel(registry.url, "library/tiny", "1", layers());
      const result = await verify("llama");
      expect(result.code, result.stderr).toBe(10);
      expect(result.model).toMatchObject({
        state: "moved",
        revision: { recorded: first.manifestDigest, upstream: second.manifestDigest },
      });
      expect(blobGets()).toEqual([]);
    });

    it("gone (exit 11) when the locked manifest is deleted from the registry", async () => {
      const deleted = await fetch(`${registry.url}/v2/library/tiny/manifests/${first.manifestDigest}`, {
        method: "DELETE",
      });
      expect(deleted.status).toBe(202);
      const result = await verify("llama");
      expect(result.code, result.stderr).toBe(11);
      expect(result.model).toMatchObject({ state: "gone" });
    });
  });

  describe("MLflow: the registry's version and the artifact listing's sizes", () => {
    let root: string;
    let server: MlflowTestServer;
    const artifacts = (version: number) => ({
      folder: `1/run${version}/artifacts/model`,
      files: { MLmodel: `flavors: {}\nrun: ${version}\n`, "model.pkl": randomBytes(2048 + version) },
    });
    const downloads = () =>
      server.requests.filter((r) => r.method === "GET" && r.url.startsWith("/api/2.0/mlflow-artifacts/artifacts/"));

    beforeAll(async () => {
      root = await mkdtemp(join(tmpdir(), "nmr-verify-mlflow-"));
      server = await startMlflowServer({ artifactsRoot: root });
      for (const version of [1, 2]) {
        await server.addVersion({
          name: "churn",
          version,
          stage: version === 1 ? "Production" : "None",
          source: `mlflow-artifacts:/${artifacts(version).folder}`,
          artifacts: artifacts(version),
        });
      }
      await add("churn", "mlflow:churn/Production", ["--endpoint", server.url]);
      server.requests.length = 0;
    });
    afterAll(async () => {
      await server?.close();
      await rm(root, { recursive: true, force: true });
    });

    it("unchanged (exit 0) by size alone, saying so, with no artifact downloaded", async () => {
      const result = await verify("churn");
      expect(result.code, result.stderr).toBe(0);
      expect(result.model).toMatchObject({
        state: "unchanged",
        revision: { recorded: "1", upstream: "1" },
        comparedBy: { size: 2 },
        unverified: ["MLmodel", "model.pkl"],
      });
      expect(downloads()).toEqual([]);
    });

    it("changed-in-place (exit 13) when the locked version lists a file of another size", async () => {
      server.faults.rewriteListing = (_path, files) =>
        files.map((file) => (file.path === "model.pkl" ? { ...file, file_size: 9999 } : file));
      const result = await verify("churn");
      server.faults.rewriteListing = undefined;
      expect(result.code, result.stderr).toBe(13);
      expect(result.model).toMatchObject({
        state: "changed-in-place",
        inPlace: [{ path: "model.pkl", after: { size: 9999 } }],
      });
    });

    it("moved (exit 10) when the stage moves to another version", async () => {
      server.setStage("churn", 2, "Production");
      const result = await verify("churn");
      expect(result.code, result.stderr).toBe(10);
      expect(result.model).toMatchObject({ state: "moved", revision: { recorded: "1", upstream: "2" } });
      expect(downloads()).toEqual([]);
    });
  });

  describe.skipIf(!hasGitLfs)("git-lfs: the commit's tree and the LFS Batch API", () => {
    let server: GitLfsServer;
    let repo: PushedRepo;
    const contentGets = () => server.log.filter((r) => r.method === "GET" && /\/objects\/[0-9a-f]{64}$/.test(r.path));

    beforeAll(async () => {
      server = await GitLfsServer.start();
      repo = await pushLfsRepo(server, "acme/tiny", {
        "config.json": JSON.stringify({ run: randomBytes(4).toString("hex") }),
        "model.safetensors": randomBytes(MiB + 77),
      });
      await add("lfs", `git-lfs:${repo.url}@${repo.commit}`, ["--large-from", "1M"]);
      server.log.length = 0;
    });
    afterAll(async () => server?.close());

    it("unchanged (exit 0), comparing git blob ids and LFS oids, no LFS object downloaded", async () => {
      const result = await verify("lfs");
      expect(result.code, result.stderr).toBe(0);
      expect(result.model).toMatchObject({ state: "unchanged", comparedBy: { sha256: 1, gitOid: 2 }, unverified: [] });
      expect(contentGets()).toEqual([]);
    });

    it("gone (exit 11) when the LFS server no longer has a locked object", async () => {
      const weights = repo.files.find((file) => file.lfs)!;
      await rm(server.objectPath("acme/tiny", weights.sha256));
      const result = await verify("lfs");
      expect(result.code, result.stderr).toBe(11);
      expect(result.model).toMatchObject({ state: "gone" });
      expect(contentGets()).toEqual([]);
    });
  });
});
