/**
 * source.ollama end to end: fetchModel → nix-build (real Nix, stand-in pkgs) → the
 * bundled fetcher → Debian's docker-registry on loopback, filled through the registry
 * API with an Ollama model (docker image config + application/vnd.ollama.image.* layers).
 *
 * Two registries share one storage directory: one serves blobs directly (200), the
 * other answers 307 to a static server on 127.0.0.2 that serves the storage files, as
 * registry.ollama.ai redirects to Cloudflare R2. Both must give the same output.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import {
  OLLAMA_LAYER,
  SCHEMA2_MANIFEST,
  corruptStoredBlob,
  hasDockerRegistry,
  plantManifest,
  pushOllamaModel,
  startDockerRegistry,
  startRecordingProxy,
  startStorageServer,
  type DockerRegistry,
  type PushedModel,
  type StorageServer,
} from "../helpers/docker-registry.js";
import { runCli } from "../helpers/cli.js";
import { libPrelude, nixAvailable, nixBuild, reportedHash, FAKE_HASH } from "../helpers/nix.js";

const TOKEN = `ollama_e2e_${randomBytes(12).toString("hex")}`;
const ESCAPE = `/tmp/nmr-ollama-escape-${TOKEN.slice(-8)}`;

/** Fresh content every run, so every build really runs instead of hitting the store. */
function modelLayers() {
  return [
    { mediaType: OLLAMA_LAYER("model"), bytes: randomBytes(2 * 1024 * 1024 + 13) },
    { mediaType: OLLAMA_LAYER("template"), bytes: Buffer.from("{{ .System }} {{ .Prompt }}") },
    {
      mediaType: OLLAMA_LAYER("params"),
      bytes: Buffer.from(JSON.stringify({ stop: ["<|eot|>"], run: randomBytes(4).toString("hex") })),
    },
    { mediaType: OLLAMA_LAYER("license"), bytes: Buffer.from("LICENSE TEXT\n") },
  ];
}

function expression(fields: string): string {
  return `${libPrelude} (nmr.fetchModel { ${fields} }).raw`;
}

function ollama(model: string, endpoint?: string): string {
  return `source.ollama = { model = "${model}"; ${endpoint ? `endpoint = "${endpoint}";` : ""} };`;
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** Every path under root (directories with a trailing "/"), sorted. */
async function tree(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true, recursive: true });
  return entries
    .map((entry) => `${relative(root, join(entry.parentPath, entry.name))}${entry.isDirectory() ? "/" : ""}`)
    .sort();
}

/**
 * Reads an output as Ollama reads $OLLAMA_MODELS (manifest/manifest.go Manifests and
 * ParseNamedManifest, manifest/paths.go BlobsPath): the glob manifests/∗/∗/∗/∗, the model
 * ID = sha256 of the manifest file, every config and layer digest at blobs/sha256-<hex>.
 */
async function readAsOllama(models: string): Promise<{ name: string; id: string; blobs: number }[]> {
  const found = [];
  for (const entry of await tree(join(models, "manifests"))) {
    if (entry.endsWith("/") || entry.split("/").length !== 4) continue;
    const bytes = await readFile(join(models, "manifests", entry));
    const manifest = JSON.parse(bytes.toString()) as {
      config: { digest: string };
      layers: { digest: string; size: number }[];
    };
    let blobs = 0;
    for (const { digest } of [manifest.config, ...manifest.layers]) {
      const content = await readFile(join(models, "blobs", digest.replace(":", "-")));
      expect(`sha256:${sha256(content)}`).toBe(digest);
      blobs++;
    }
    const [host, namespace, model, tag] = entry.split("/");
    found.push({ name: `${host}/${namespace}/${model}:${tag}`, id: sha256(bytes).slice(0, 12), blobs });
  }
  return found;
}

describe.skipIf(!nixAvailable || !hasDockerRegistry)(
  "fetchModel from an Ollama registry (needs nix-build and Debian's docker-registry), built by Nix",
  () => {
    let root: string;
    let storageServer: StorageServer;
    let direct: DockerRegistry;
    let redirecting: DockerRegistry;
    let tiny: PushedModel;
    let broken: PushedModel;
    let hash: string | undefined;
    let outPath: string | undefined;

    beforeAll(async () => {
      root = await mkdtemp(join(tmpdir(), "nmr-e2e-ollama-"));
      const storage = join(root, "storage");
      direct = await startDockerRegistry({ storage });
      storageServer = await startStorageServer(storage);
      redirecting = await startDockerRegistry({ storage, redirectTo: storageServer.url });
      tiny = await pushOllamaModel(direct.url, "library/tiny", "1", modelLayers());
      broken = await pushOllamaModel(direct.url, "library/broken", "1", modelLayers());
      await corruptStoredBlob(storage, broken.layers[0]!.digest, 1000);
      // A hostile registry: the tag points at a manifest whose layer digest is a path.
      const hostile = {
        schemaVersion: 2,
        mediaType: SCHEMA2_MANIFEST,
        config: { mediaType: tiny.config.mediaType, digest: tiny.config.digest, size: tiny.config.bytes.length },
        layers: [{ mediaType: OLLAMA_LAYER("model"), digest: `sha256:../../../../../../..${ESCAPE}`, size: 4 }],
      };
      await plantManifest(storage, "library/tiny", "evil", Buffer.from(JSON.stringify(hostile)));
    });

    afterAll(async () => {
      await direct?.close();
      await redirecting?.close();
      await storageServer?.close();
      await rm(root, { recursive: true, force: true });
    });

    it("fails a wrong hash and shows the right one", async () => {
      const result = await nixBuild(expression(`${ollama("tiny:1", direct.url)} hash = "${FAKE_HASH}";`));
      expect(result.ok).toBe(false);
      expect(result.stderr, result.stderr).toContain("hash mismatch in fixed-output derivation");
      hash = reportedHash(result);
      expect(hash).toMatch(/^sha256-/);
    });

    it("builds exactly the Ollama layout: the manifest bytes as served, every blob by digest, nothing else", async () => {
      const result = await nixBuild(expression(`${ollama("tiny:1", direct.url)} hash = "${hash}";`));
      expect(result.stderr).not.toContain("error:");
      expect(result.ok).toBe(true);
      outPath = result.outPath!;
      // The name comes from the model and tag by default, as prefetch chooses it.
      expect(outPath).toMatch(/-tiny-1-raw$/);

      const blobs = [tiny.config, ...tiny.layers].map((blob) => `blobs/sha256-${blob.sha256}`);
      expect(await tree(outPath)).toEqual(
        [
          ".nix-model-repo-meta.json",
          "blobs/",
          ...blobs,
          "manifests/",
          "manifests/registry.ollama.ai/",
          "manifests/registry.ollama.ai/library/",
          "manifests/registry.ollama.ai/library/tiny/",
          "manifests/registry.ollama.ai/library/tiny/1",
        ].sort(),
      );
      expect((await readFile(join(outPath, "manifests/registry.ollama.ai/library/tiny/1"))).equals(tiny.manifest)).toBe(
        true,
      );
      for (const blob of [tiny.config, ...tiny.layers]) {
        expect((await readFile(join(outPath, "blobs", `sha256-${blob.sha256}`))).equals(blob.bytes)).toBe(true);
      }
      // What `ollama list` would show: the name, and the manifest's sha256 as the ID.
      expect(await readAsOllama(outPath)).toEqual([
        { name: "registry.ollama.ai/library/tiny:1", id: tiny.manifestDigest.slice(7, 19), blobs: 5 },
      ]);
    });

    it("records the tag's manifest digest and every file in deterministic metadata", async () => {
      const meta = JSON.parse(await readFile(join(outPath!, ".nix-model-repo-meta.json"), "utf8"));
      const files = [
        ...[tiny.config, ...tiny.layers].map((blob) => ({
          path: `blobs/sha256-${blob.sha256}`,
          sha256: blob.sha256,
          size: blob.bytes.length,
        })),
        {
          path: "manifests/registry.ollama.ai/library/tiny/1",
          sha256: tiny.manifestDigest.slice(7),
          size: tiny.manifest.length,
        },
      ].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
      // No endpoint in it: the same model from a mirror is the same output.
      expect(meta).toEqual({
        files,
        formatVersion: 1,
        layout: "ollama",
        resolved: { manifestDigest: tiny.manifestDigest },
        source: { model: "registry.ollama.ai/library/tiny:1", type: "ollama" },
      });
      expect((await runCli(["hash", outPath!])).stdout.trim()).toBe(hash);
    });

    it("gives the same output through the redirecting registry (nix-build --check), blobs fetched from the storage host", async () => {
      const before = storageServer.requests.length;
      const result = await nixBuild(
        expression(`${ollama("tiny:1", redirecting.url)} hash = "${hash}"; network.concurrency = 1;`),
        { check: true },
      );
      expect(result.stderr).not.toContain("error:");
      expect(result.ok).toBe(true);
      const served = storageServer.requests.slice(before).filter((r) => r.status === 200);
      expect(served.map((r) => r.path.split("/").at(-2)).sort()).toEqual(
        [tiny.config, ...tiny.layers].map((b) => b.sha256).sort(),
      );
      expect(served.every((r) => r.path.endsWith("/data"))).toBe(true);
    });

    it("prefetches through the redirecting registry to the same hash, and the build is a store hit", async () => {
      const result = await runCli([
        "prefetch",
        "ollama:tiny:1",
        "--endpoint",
        redirecting.url,
        "--name",
        "tiny-prefetched",
        "--json",
      ]);
      expect(result.stderr).not.toContain("error");
      expect(result.code).toBe(0);
      const prefetched = JSON.parse(result.stdout);
      expect(prefetched.hash).toBe(hash);
      expect(prefetched.resolved).toEqual({ manifestDigest: tiny.manifestDigest });
      expect(prefetched.expression).toContain(
        `source.ollama = {\n    model = "tiny:1";\n    endpoint = "${redirecting.url}";\n  };`,
      );
      // A registry that is down now: the build must not need it.
      const build = await nixBuild(
        expression(`name = "tiny-prefetched"; ${ollama("tiny:1", "http://127.0.0.1:9")} hash = "${hash}";`),
      );
      expect(build.stderr).not.toContain("error:");
      expect(build.outPath).toBe(prefetched.storePath);
    });

    it("fetches from a plain-http:// name without an endpoint, the registry host in the manifest path", async () => {
      const model = `http://${direct.host}/library/tiny:1`;
      const result = await runCli(["prefetch", `ollama:${model}`, "--json"]);
      expect(result.stderr).not.toContain("error");
      const prefetched = JSON.parse(result.stdout);
      expect(prefetched.expression).toContain(`model = "${model}";`);
      expect(await readAsOllama(prefetched.storePath)).toEqual([
        { name: `${direct.host}/library/tiny:1`, id: tiny.manifestDigest.slice(7, 19), blobs: 5 },
      ]);
      const build = await nixBuild(expression(`${ollama(model)} hash = "${prefetched.hash}";`));
      expect(build.outPath).toBe(prefetched.storePath);
      expect(build.outPath).toMatch(/-tiny-1-raw$/);
    });

    it("sends a token from auth.tokenEnvVar to the registry only, and it appears nowhere", async () => {
      const proxy = await startRecordingProxy(redirecting.url);
      const before = storageServer.requests.length;
      try {
        const build = await nixBuild(
          expression(
            `name = "tiny-token"; ${ollama("tiny:1", proxy.url)} hash = "${hash}"; auth.tokenEnvVar = "NMR_OLLAMA_TOKEN";`,
          ),
          { env: { NMR_OLLAMA_TOKEN: TOKEN } },
        );
        expect(build.stderr).not.toContain("error:");
        expect(build.ok).toBe(true);
        expect(build.stderr).toContain(
          `using the registry token from $NMR_OLLAMA_TOKEN (sent to ${new URL(proxy.url).host} only)`,
        );
        // The registry host got it with every request; the storage host it redirects to never did.
        expect(proxy.requests.length).toBeGreaterThanOrEqual(6);
        expect(proxy.requests.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
        const storage = storageServer.requests.slice(before);
        expect(storage.length).toBe(5);
        expect(storage.every((r) => r.authorization === undefined)).toBe(true);
        // Not in the .drv (so not in the spec or argv), not in a log, not in the output.
        expect(await readFile(build.drvPath!, "utf8")).not.toContain(TOKEN);
        expect(build.stdout + build.stderr).not.toContain(TOKEN);
        for (const entry of await tree(build.outPath!)) {
          if (!entry.endsWith("/")) expect((await readFile(join(build.outPath!, entry))).includes(TOKEN)).toBe(false);
        }
      } finally {
        await proxy.close();
      }
    });

    it("fails on a corrupted blob, naming the blob and the layer", async () => {
      const result = await nixBuild(expression(`${ollama("broken:1", direct.url)} hash = "${FAKE_HASH}";`));
      expect(result.ok).toBe(false);
      expect(result.stderr).not.toContain("hash mismatch in fixed-output derivation");
      const layer = broken.layers[0]!;
      expect(result.stderr, result.stderr).toContain(
        `Downloaded blobs/sha256-${layer.sha256} does not match what the source lists for it`,
      );
      expect(result.stderr).toContain("broken:1 layer 1 (application/vnd.ollama.image.model)");
      expect(result.stderr).toContain(`sha256: expected ${layer.sha256}`);
    });

    it("refuses a manifest with a hostile digest and writes nothing anywhere", async () => {
      const result = await nixBuild(expression(`${ollama("tiny:evil", direct.url)} hash = "${FAKE_HASH}";`));
      expect(result.ok).toBe(false);
      expect(result.stderr, result.stderr).toContain(
        `Refusing the manifest of registry.ollama.ai/library/tiny:evil from ${direct.url}: layer 1 has the digest "sha256:../../../../../../..${ESCAPE}"`,
      );
      expect(existsSync(ESCAPE)).toBe(false);

      // The same through the CLI outside any sandbox, where an escape would really land.
      const work = await mkdtemp(join(tmpdir(), "nmr-e2e-ollama-evil-"));
      try {
        const spec = join(work, "spec.json");
        await writeFile(
          spec,
          JSON.stringify({
            specVersion: 1,
            name: "evil",
            source: { type: "ollama", model: `http://${direct.host}/library/tiny:evil` },
          }),
        );
        const cli = await runCli(["fetch", "--spec", spec, "--out", join(work, "out")]);
        expect(cli.code).not.toBe(0);
        expect(cli.stderr).toContain("layer 1 has the digest");
        expect(existsSync(ESCAPE)).toBe(false);
        expect(existsSync(join(work, "out"))).toBe(false);
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    });

    it("names the model and the registry when the tag does not exist", async () => {
      const result = await nixBuild(expression(`${ollama("tiny:nope", direct.url)} hash = "${FAKE_HASH}";`));
      expect(result.ok).toBe(false);
      expect(result.stderr, result.stderr).toContain(
        `Model registry.ollama.ai/library/tiny:nope not found at ${direct.url}`,
      );
      expect(result.stderr).toContain("MANIFEST_UNKNOWN");
    });

    it("refuses manifest bytes that do not have the digest the registry announces", async () => {
      const other = `sha256:${"0".repeat(64)}`;
      const proxy = await startRecordingProxy(direct.url, (path, headers) =>
        path.includes("/manifests/") ? { ...headers, "docker-content-digest": other } : headers,
      );
      const work = await mkdtemp(join(tmpdir(), "nmr-e2e-ollama-digest-"));
      try {
        const spec = join(work, "spec.json");
        await writeFile(
          spec,
          JSON.stringify({
            specVersion: 1,
            name: "digest",
            source: { type: "ollama", model: "tiny:1", endpoint: proxy.url },
          }),
        );
        const cli = await runCli(["fetch", "--spec", spec, "--out", join(work, "out")]);
        expect(cli.code).not.toBe(0);
        expect(cli.stderr).toContain(
          `the manifest from ${proxy.url}/v2/library/tiny/manifests/1 has digest ${tiny.manifestDigest}, but the registry says ${other}`,
        );
        expect(existsSync(join(work, "out"))).toBe(false);
      } finally {
        await proxy.close();
        await rm(work, { recursive: true, force: true });
      }
    });

    it("suggests http:// when an https request meets a plain-HTTP registry", async () => {
      const work = await mkdtemp(join(tmpdir(), "nmr-e2e-ollama-tls-"));
      try {
        const spec = join(work, "spec.json");
        const source = { type: "ollama", model: `${direct.host}/library/tiny:1` };
        await writeFile(
          spec,
          JSON.stringify({ specVersion: 1, name: "tls", source, network: { retry: { maxAttempts: 1 } } }),
        );
        const cli = await runCli(["fetch", "--spec", spec, "--out", join(work, "out")]);
        expect(cli.code).not.toBe(0);
        expect(cli.stderr).toContain(`Registry: https://${direct.host}`);
        expect(cli.stderr).toContain(`write the model as "http://${direct.host}/library/tiny:1"`);
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    });
  },
);
