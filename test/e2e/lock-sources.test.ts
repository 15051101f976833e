/**
 * Every source through the lockfile: `add`, then `lib.fromLock` built by real Nix with the
 * store lacking every file, so each large file and the small files are fetched by their own
 * fixed-output derivations (the spec's `select`, pinned to what the lock resolved); the
 * assembled output is compared with what a single-hash fetchModel of the same model writes
 * (`prefetch`). Real servers on loopback: s3rver, a plain HTTP server, the MLflow server,
 * git with the LFS server, Debian's docker-registry for Ollama.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LockEntry, lockedBlobPath, parseLockFile } from "../../src/lockfile/index.js";
import { runCli } from "../helpers/cli.js";
import {
  hasDockerRegistry,
  OLLAMA_LAYER,
  pushOllamaModel,
  startDockerRegistry,
  type DockerRegistry,
  type PushedModel,
} from "../helpers/docker-registry.js";
import { FaultServer } from "../helpers/fault-server.js";
import { GitLfsServer, hasGitLfs } from "../helpers/git-lfs-server.js";
import { pushLfsRepo } from "../helpers/git-lfs-repo.js";
import { type CountingProxy, startCountingProxy } from "../helpers/counting-proxy.js";
import { buildAll, expectSameLayout, modelAndRaw } from "../helpers/locked.js";
import { type MlflowTestServer, startMlflowServer } from "../helpers/mlflow-server.js";
import { nixAvailable, nixReadableTempDir } from "../helpers/nix.js";
import { safetensors } from "../integration/fixtures.js";
import { cleanAwsEnv, s3rverAvailable, startS3Server, type S3TestServer } from "../helpers/s3-server.js";

const LARGE_FROM = "64K";
const KiB = 1024;

interface Locked {
  readonly entry: LockEntry;
  /** The validated model and its assembled raw output. */
  readonly model: string;
  readonly raw: string;
}

/**
 * add NAME TARGET (with nix-store hidden: nothing is added, so the build must fetch), then
 * the fetchModel reference (prefetch, which adds it), then a Nix build of the locked model.
 */
async function lockAndBuild(name: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<Locked> {
  const lock = join(await nixReadableTempDir("nmr-lock-src-"), "models.lock.json");
  const added = await runCli(["add", name, ...args, "--lock", lock, "--large-from", LARGE_FROM], {
    env: { ...env, PATH: "/nonexistent", NIX_MODEL_REPO_GIT: "/usr/bin/git" },
  });
  expect(added.code, added.stderr).toBe(0);
  const entry = parseLockFile(await readFile(lock), lock).models[name]!;
  for (const file of entry.files.filter((f) => f.large))
    expect(existsSync(lockedBlobPath(file)), file.path).toBe(false);

  const prefetched = await runCli(["prefetch", ...args, "--name", name, "--json"], { env });
  expect(prefetched.code, prefetched.stderr).toBe(0);
  const reference = JSON.parse(prefetched.stdout).storePath as string;

  const built = await buildAll(modelAndRaw(lock, name), env);
  expect(built.ok, built.stderr).toBe(true);
  const large = entry.files.filter((f) => f.large).length;
  expect(built.stderr.match(/building '[^']*-model-blob-[0-9a-f]{64}\.drv'/g) ?? []).toHaveLength(
    new Set(entry.files.filter((f) => f.large).map((f) => f.sha256)).size,
  );
  expect(large).toBeGreaterThan(0);
  const [model, raw] = built.paths as [string, string];
  await expectSameLayout(reference, raw);
  for (const file of entry.files.filter((f) => f.large)) expect(existsSync(lockedBlobPath(file)), file.path).toBe(true);
  return { entry, model, raw };
}

describe.skipIf(!nixAvailable || !s3rverAvailable)("a locked model from S3 (s3rver)", () => {
  let server: S3TestServer;
  beforeAll(async () => {
    server = await startS3Server();
    await server.createBucket("models");
    const files: Record<string, Buffer | string> = {
      "config.json": JSON.stringify({ run: randomBytes(6).toString("hex") }),
      "model.safetensors": safetensors(randomBytes(200 * KiB)),
      "onnx/model.onnx": randomBytes(100 * KiB),
    };
    for (const [path, content] of Object.entries(files)) await server.put("models", `org/tiny/${path}`, content);
  });
  afterAll(async () => server?.close());

  it("adds and builds it file by file, the same layout as fetchModel, ETags recorded", async () => {
    const { entry } = await lockAndBuild("s3-tiny", ["s3://models/org/tiny", "--endpoint", server.url], cleanAwsEnv);
    expect(entry.source).toEqual({ target: "s3://models/org/tiny", endpoint: server.url });
    expect(entry.files.map((f) => [f.path, f.large])).toEqual([
      ["config.json", false],
      ["model.safetensors", true],
      ["onnx/model.onnx", true],
    ]);
    for (const file of entry.files) expect(file.ids.etag).toMatch(/^"[0-9a-f]{32}"$/);
  });
});

describe.skipIf(!nixAvailable)("a locked model from plain HTTP", () => {
  let server: FaultServer;
  beforeAll(async () => {
    server = await FaultServer.start();
    server.serveBytes("/files/model.safetensors", safetensors(randomBytes(150 * KiB)));
  });
  afterAll(async () => server?.close());

  it("adds a URL and builds it as a flat fixed-output path of its own", async () => {
    const url = server.url("/files/model.safetensors");
    const { entry } = await lockAndBuild("http-tiny", [`url:${url}`], {});
    expect(entry.source).toEqual({ target: `url:${url}` });
    expect(entry.smallFiles).toBeNull();
    expect(entry.files).toHaveLength(1);
  });
});

describe.skipIf(!nixAvailable)("a locked model from MLflow", () => {
  let root: string;
  let server: MlflowTestServer;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "nmr-lock-mlflow-"));
    server = await startMlflowServer({ artifactsRoot: root });
    const runId = `run${randomBytes(4).toString("hex")}`;
    const folder = `1/${runId}/artifacts/model`;
    server.addRun(runId, `mlflow-artifacts:/1/${runId}/artifacts`);
    await server.addVersion({
      name: "churn",
      version: 1,
      stage: "Production",
      source: `runs:/${runId}/model`,
      storageLocation: `mlflow-artifacts:/${folder}`,
      artifacts: {
        folder,
        files: {
          MLmodel: `artifact_path: model\nrun: ${runId}\n`,
          "model.safetensors": safetensors(randomBytes(120 * KiB)),
        },
      },
    });
  });
  afterAll(async () => {
    await server?.close();
    await rm(root, { recursive: true, force: true });
  });

  it("adds a stage, pins the version it resolved to, and builds it file by file", async () => {
    const { entry } = await lockAndBuild("mlflow-churn", ["mlflow:churn/Production", "--endpoint", server.url], {});
    expect(entry.resolved).toMatchObject({ version: "1" });
    expect(entry.recorded).toMatchObject({ modelName: "churn", modelStage: "Production" });
  });
});

describe.skipIf(!nixAvailable || !hasGitLfs)("a locked model from a git repository with Git LFS", () => {
  let server: GitLfsServer;
  beforeAll(async () => {
    server = await GitLfsServer.start();
  });
  afterAll(async () => server?.close());

  it("adds a commit and builds it: LFS objects each in their own path, git files together", async () => {
    const repo = await pushLfsRepo(server, "acme/tiny", {
      "config.json": JSON.stringify({ run: randomBytes(6).toString("hex") }),
      "model.safetensors": safetensors(randomBytes(300 * KiB)),
      "README.md": "hello\n",
    });
    const { entry } = await lockAndBuild("lfs-tiny", [`git-lfs:${repo.url}@${repo.commit}`], {});
    const weights = entry.files.find((f) => f.path === "model.safetensors")!;
    expect(weights).toMatchObject({ large: true, blob: weights.sha256, ids: { lfsOid: weights.sha256 } });
    expect(entry.files.find((f) => f.path === "README.md")).toMatchObject({ large: false });
  });
});

describe.skipIf(!nixAvailable || !hasDockerRegistry)("a locked model from an Ollama registry", () => {
  let storage: string;
  let registry: DockerRegistry;
  let proxy: CountingProxy;
  const weights = randomBytes(400 * KiB);
  const layers = (params: string) => [
    { mediaType: OLLAMA_LAYER("model"), bytes: weights },
    { mediaType: OLLAMA_LAYER("template"), bytes: Buffer.from("{{ .Prompt }}") },
    { mediaType: OLLAMA_LAYER("params"), bytes: Buffer.from(params) },
  ];
  let first: PushedModel;
  beforeAll(async () => {
    storage = await mkdtemp(join(tmpdir(), "nmr-lock-registry-"));
    registry = await startDockerRegistry({ storage });
    proxy = await startCountingProxy(Number(new URL(registry.url).port));
    first = await pushOllamaModel(
      registry.url,
      "library/tiny",
      "1",
      layers(JSON.stringify({ run: randomBytes(4).toString("hex") })),
    );
  });
  afterAll(async () => {
    await proxy?.close();
    await registry?.close();
    await rm(storage, { recursive: true, force: true });
  });

  it("adds a tag, pins the manifest digest, and builds the Ollama layout from per-blob paths", async () => {
    const { entry, raw } = await lockAndBuild("ollama-tiny", ["ollama:tiny:1", "--endpoint", registry.url], {});
    expect(entry.layout).toEqual({ kind: "ollama" });
    expect(entry.resolved).toEqual({ manifestDigest: first.manifestDigest });
    const layer = entry.files.find((f) => f.large)!;
    expect(layer.ids).toEqual({ digest: `sha256:${layer.sha256}` });
    expect(existsSync(join(raw, "manifests", "registry.ollama.ai", "library", "tiny", "1"))).toBe(true);
  });

  it("moves the tag on update: only the changed layer downloaded, the weights keep their path", async () => {
    const lock = join(await nixReadableTempDir("nmr-lock-ollama-"), "models.lock.json");
    const lockArgs = ["--lock", lock, "--large-from", LARGE_FROM];
    const added = await runCli(["add", "tiny", "ollama:tiny:1", "--endpoint", proxy.url, ...lockArgs]);
    expect(added.code, added.stderr).toBe(0);
    const before = parseLockFile(await readFile(lock), lock).models["tiny"]!;
    // The tag now names a manifest with other parameters and the same weights.
    const moved = await pushOllamaModel(registry.url, "library/tiny", "1", layers('{"temperature":0.2}'));
    const blob = (pushed: PushedModel, index: number) => `blobs/sha256-${pushed.layers[index]!.sha256}`;

    const dry = await runCli(["update", "--dry-run", "--json", ...lockArgs]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout).models[0]).toMatchObject({
      status: "moved",
      resolved: { before: before.resolved, after: { manifestDigest: moved.manifestDigest } },
      added: [{ path: blob(moved, 2), size: moved.layers[2]!.bytes.length }],
      removed: [{ path: blob(first, 2) }],
      changed: [{ path: "manifests/registry.ollama.ai/library/tiny/1" }],
      download: { files: 1, bytes: moved.layers[2]!.bytes.length },
    });

    proxy.reset();
    const updated = await runCli(["update", ...lockArgs]);
    expect(updated.code, updated.stderr).toBe(0);
    // The manifest and the new parameters crossed the wire, not the weights.
    expect(proxy.bytesToClient()).toBeLessThan(weights.length);
    const after = parseLockFile(await readFile(lock), lock).models["tiny"]!;
    expect(after.resolved).toEqual({ manifestDigest: moved.manifestDigest });
    expect(after.files.filter((f) => f.large)).toEqual(before.files.filter((f) => f.large));
    const built = await buildAll(modelAndRaw(lock, "tiny"));
    expect(built.ok, built.stderr).toBe(true);
    expect(built.stderr).not.toMatch(/model-blob-|-files\.drv/);
    const manifest = join(built.paths[1]!, "manifests", "registry.ollama.ai", "library", "tiny", "1");
    expect((await readFile(manifest)).equals(moved.manifest)).toBe(true);
  });
});
