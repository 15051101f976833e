/**
 * The foundation end to end: fetchModel → nix-build (real Nix, stand-in pkgs) → the
 * bundled fetcher → the project's own Hub server on loopback, and the output read back
 * the way huggingface_hub reads a cache offline.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startHubServer, type HubServer } from "../../src/serve/index.js";
import { writeHubRepo, type WrittenHubRepo } from "../helpers/hub-fixture.js";
import { assertEveryFileFoundOffline } from "../helpers/hf-offline.js";
import { realHubSkipReason, runRealHub } from "../helpers/hf-python.js";
import {
  libPrelude,
  nixAvailable,
  nixBuild,
  nixReadableTempDir,
  reportedHash,
  hubCacheWith,
  regularFilesUnder,
  FAKE_HASH,
} from "../helpers/nix.js";
import { runCli } from "../helpers/cli.js";

const TOKEN = `hf_e2e_${randomBytes(12).toString("hex")}`;

/** Fresh content every run, so every build really runs instead of hitting the store. */
function modelFiles(): Record<string, Buffer | string> {
  return {
    "config.json": JSON.stringify({ model_type: "tiny", run: randomBytes(8).toString("hex") }),
    "tokenizer.json": JSON.stringify({ version: "1.0", vocab: { a: 0, b: 1 } }),
    "model.safetensors": randomBytes(3 * 1024 * 1024 + 17),
    "2_Dense/config.json": JSON.stringify({ in_features: 4 }),
    "onnx/nested/model.onnx": randomBytes(200_000),
  };
}

function expression(fields: string): string {
  return `${libPrelude} (nmr.fetchModel { ${fields} }).raw`;
}

function sourceFor(hub: HubServer, repo: string, extra = ""): string {
  return `source.huggingface = { repo = "${repo}"; endpoint = "${hub.url}"; ${extra} };`;
}

describe.skipIf(!nixAvailable)("fetchModel from a Hugging Face Hub, built by Nix", () => {
  let root: string;
  let hub: HubServer;
  let publicRepo: WrittenHubRepo;
  let gatedRepo: WrittenHubRepo;
  let hash: string | undefined;
  let outPath: string | undefined;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "nmr-e2e-hub-"));
    publicRepo = await writeHubRepo(root, { repoId: "acme/e2e-public", files: modelFiles() });
    gatedRepo = await writeHubRepo(root, { repoId: "acme/e2e-gated", files: modelFiles(), gated: true });
    await writeHubRepo(root, { repoId: "acme/e2e-evil", files: { "config.json": "{}" } });
    // LFS files redirect to a "CDN" on another host (127.0.0.2), as huggingface.co does.
    hub = await startHubServer({
      root,
      tokens: [TOKEN],
      cdn: { host: "127.0.0.2" },
      treeOverride: ({ repo }) =>
        repo.id === "acme/e2e-evil"
          ? [
              { type: "file", path: "config.json", oid: "9e26dfeeb6e641a33dae4961196235bdb965b21b", size: 2 },
              {
                type: "file",
                path: `../../../../../../tmp/nmr-escape-${TOKEN.slice(-8)}`,
                oid: "9e26dfeeb6e641a33dae4961196235bdb965b21b",
                size: 2,
              },
            ]
          : undefined,
    });
  });

  afterAll(async () => {
    await hub?.close();
    await rm(root, { recursive: true, force: true });
  });

  it("fails a wrong hash and shows the right one", async () => {
    const result = await nixBuild(
      expression(`name = "e2e-public"; ${sourceFor(hub, "acme/e2e-public")} hash = "${FAKE_HASH}";`),
    );
    expect(result.ok).toBe(false);
    expect(result.stderr, result.stderr).toContain("hash mismatch in fixed-output derivation");
    hash = reportedHash(result);
    expect(hash).toMatch(/^sha256-/);
  });

  it("builds with the right hash, and every file loads offline as huggingface_hub finds it", async () => {
    const result = await nixBuild(
      expression(`name = "e2e-public"; ${sourceFor(hub, "acme/e2e-public")} hash = "${hash}";`),
    );
    expect(result.stderr).not.toContain("error:");
    expect(result.ok).toBe(true);
    outPath = result.outPath!;
    expect(outPath).toMatch(/-e2e-public-raw$/);

    const cache = await hubCacheWith(outPath, "acme/e2e-public");
    const expected = new Map(publicRepo.files.map((file) => [file.path, file.sha256]));
    const report = await assertEveryFileFoundOffline(cache, "acme/e2e-public", expected);
    expect(report.commit).toBe(publicRepo.commit);
    // Pinned to the commit, offline snapshot_download works too (trees/<commit>.json).
    await assertEveryFileFoundOffline(cache, "acme/e2e-public", expected, { revision: publicRepo.commit });
    // Blobs are named by the Hub's etags: LFS sha256, else git blob sha1.
    for (const file of publicRepo.files) expect(existsSync(join(outPath, "blobs", file.etag))).toBe(true);
  });

  it.skipIf(realHubSkipReason !== undefined)(
    `the real huggingface_hub loads the built model offline (${realHubSkipReason ? "skipped: set HUGGINGFACE_HUB_SRC to run" : "HUGGINGFACE_HUB_SRC"})`,
    async () => {
      const cache = await hubCacheWith(outPath!, "acme/e2e-public");
      const files = publicRepo.files.map((file) => file.path);
      const outcomes = await runRealHub(cache, [
        ...files.map((filename) => ({ op: "hf_hub_download" as const, repoId: "acme/e2e-public", filename })),
        { op: "snapshot_download", repoId: "acme/e2e-public" },
        { op: "snapshot_download", repoId: "acme/e2e-public", revision: publicRepo.commit },
        { op: "scan_cache_dir" },
      ]);
      for (const [index, outcome] of outcomes.entries()) {
        expect(outcome, JSON.stringify(outcome)).toMatchObject({ ok: true });
        if (index < files.length) {
          const content = await readFile((outcome as { value: string }).value);
          expect(content.equals(publicRepo.files[index]!.content)).toBe(true);
        }
      }
      expect((outcomes.at(-1) as unknown as { value: { warnings: unknown[] } }).value.warnings).toEqual([]);
    },
  );

  it("writes deterministic metadata and the hash nix-model-repo hash computes", async () => {
    const meta = JSON.parse(await readFile(join(outPath!, ".nix-model-repo-meta.json"), "utf8"));
    expect(meta).toEqual({
      files: [...publicRepo.files]
        .sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)))
        .map((file) => ({ path: file.path, sha256: file.sha256, size: file.size })),
      formatVersion: 1,
      layout: "huggingface",
      resolved: { commit: publicRepo.commit },
      source: { files: null, repo: "acme/e2e-public", repoType: "model", revision: "main", type: "huggingface" },
    });
    const hashed = await runCli(["hash", outPath!]);
    expect(hashed.stdout.trim()).toBe(hash);
  });

  it("gives the same hash when built again with different concurrency", async () => {
    const result = await nixBuild(
      expression(
        `name = "e2e-public"; ${sourceFor(hub, "acme/e2e-public")} hash = "${hash}"; network.concurrency = 1;`,
      ),
      { check: true },
    );
    expect(result.stderr).not.toContain("error:");
    expect(result.ok).toBe(true);
  });

  it("prefetches, adds the model at the FOD's store path, and builds with the server stopped", async () => {
    const prefetchRoot = await mkdtemp(join(tmpdir(), "nmr-e2e-prefetch-"));
    const repo = await writeHubRepo(prefetchRoot, { repoId: "acme/e2e-prefetch", files: modelFiles() });
    const ownHub = await startHubServer({ root: prefetchRoot });
    let prefetched: { hash: string; storePath: string; expression: string };
    try {
      const result = await runCli([
        "prefetch",
        "hf:acme/e2e-prefetch",
        "--endpoint",
        ownHub.url,
        "--files",
        "*.json",
        "--files",
        "*.safetensors",
        "--json",
      ]);
      expect(result.stderr).not.toContain("error");
      expect(result.code).toBe(0);
      prefetched = JSON.parse(result.stdout);
    } finally {
      await ownHub.close();
      await rm(prefetchRoot, { recursive: true, force: true });
    }
    expect(prefetched.expression).toContain(`hash = "${prefetched.hash}";`);
    const build = await nixBuild(
      expression(
        `name = "e2e-prefetch"; ${sourceFor(ownHub, "acme/e2e-prefetch", `files = [ "*.json" "*.safetensors" ];`)} hash = "${prefetched.hash}";`,
      ),
    );
    expect(build.stderr).not.toContain("error:");
    expect(build.outPath).toBe(prefetched.storePath);
    const kept = repo.files.filter((file) => file.path.endsWith(".json") || file.path.endsWith(".safetensors"));
    await assertEveryFileFoundOffline(
      await hubCacheWith(build.outPath!, "acme/e2e-prefetch"),
      "acme/e2e-prefetch",
      new Map(kept.map((f) => [f.path, f.sha256])),
    );
  });

  it("fetches a gated model with a token from the environment that appears nowhere", async () => {
    const before = hub.requests.length;
    const first = await nixBuild(
      expression(`name = "e2e-gated"; ${sourceFor(hub, "acme/e2e-gated")} hash = "${FAKE_HASH}";`),
      { env: { HF_TOKEN: TOKEN } },
    );
    const gatedHash = reportedHash(first);
    expect(gatedHash).toMatch(/^sha256-/);
    const build = await nixBuild(
      expression(`name = "e2e-gated"; ${sourceFor(hub, "acme/e2e-gated")} hash = "${gatedHash}";`),
      { env: { HF_TOKEN: TOKEN } },
    );
    expect(build.ok).toBe(true);

    // Not in the .drv (and so not in argv or the spec), not in any log, not in the output.
    expect(await readFile(build.drvPath!, "utf8")).not.toContain(TOKEN);
    expect(first.stderr + first.stdout + build.stderr + build.stdout).not.toContain(TOKEN);
    for (const file of await regularFilesUnder(build.outPath!))
      expect((await readFile(file)).includes(TOKEN)).toBe(false);
    expect(build.stderr + first.stderr).toContain("using the Hugging Face token from $HF_TOKEN");

    // The Hub's own host got the token; the CDN host never did.
    const requests = hub.requests.slice(before);
    expect(requests.some((r) => r.host.startsWith("127.0.0.1") && r.hasAuthorization)).toBe(true);
    const cdnRequests = requests.filter((r) => r.host.startsWith("127.0.0.2"));
    expect(cdnRequests.length).toBeGreaterThan(0);
    expect(cdnRequests.every((r) => !r.hasAuthorization)).toBe(true);
    await assertEveryFileFoundOffline(
      await hubCacheWith(build.outPath!, "acme/e2e-gated"),
      "acme/e2e-gated",
      new Map(gatedRepo.files.map((f) => [f.path, f.sha256])),
    );
  });

  it("reads the token from auth.tokenFile inside the build", async () => {
    const secrets = await nixReadableTempDir("nmr-e2e-secret-");
    const tokenFile = join(secrets, "hf-token");
    await writeFile(tokenFile, `${TOKEN}\n`);
    await chmod(tokenFile, 0o644); // builds run as the nixbld users
    const result = await nixBuild(
      expression(
        `name = "e2e-gated-file"; ${sourceFor(hub, "acme/e2e-gated")} hash = "${FAKE_HASH}"; auth.tokenFile = "${tokenFile}";`,
      ),
    );
    // The fetch succeeded (only the deliberately wrong hash failed it) without HF_TOKEN set.
    expect(result.stderr).toContain("hash mismatch in fixed-output derivation");
    expect(result.stderr).toContain(`using the Hugging Face token from auth.tokenFile ${tokenFile}`);
    expect(result.stderr).not.toContain(TOKEN);
  });

  it("explains a gated model without a token, and never prints a rejected token", async () => {
    const anonymous = await nixBuild(
      expression(`name = "e2e-gated-anon"; ${sourceFor(hub, "acme/e2e-gated")} hash = "${FAKE_HASH}";`),
      { env: { HF_TOKEN: "" } },
    );
    expect(anonymous.ok).toBe(false);
    expect(anonymous.stderr, anonymous.stderr).toContain("acme/e2e-gated is a gated repository");
    expect(anonymous.stderr).toContain(`${hub.url}/acme/e2e-gated`);
    expect(anonymous.stderr).toContain("none (anonymous)");
    expect(anonymous.stderr).not.toContain("hash mismatch");

    const wrongToken = `hf_wrong_${randomBytes(8).toString("hex")}`;
    const rejected = await nixBuild(
      expression(`name = "e2e-gated-wrong"; ${sourceFor(hub, "acme/e2e-gated")} hash = "${FAKE_HASH}";`),
      { env: { HF_TOKEN: wrongToken } },
    );
    expect(rejected.ok).toBe(false);
    expect(rejected.stderr).toContain("GatedRepo");
    expect(rejected.stderr).not.toContain(wrongToken);
  });

  it("refuses hostile tree entries and writes nothing outside the output", async () => {
    const outside = `/tmp/nmr-escape-${TOKEN.slice(-8)}`;
    const result = await nixBuild(
      expression(`name = "e2e-evil"; ${sourceFor(hub, "acme/e2e-evil")} hash = "${FAKE_HASH}";`),
    );
    expect(result.ok).toBe(false);
    expect(result.stderr).toContain(
      "Refusing a file path from the Hub's listing of acme/e2e-evil: it has a '..' segment",
    );
    expect(existsSync(outside)).toBe(false);

    // The same through the CLI outside any sandbox, where an escape would really land.
    const out = join(await mkdtemp(join(tmpdir(), "nmr-e2e-evil-")), "out");
    const spec = join(await mkdtemp(join(tmpdir(), "nmr-e2e-spec-")), "spec.json");
    await writeFile(
      spec,
      JSON.stringify({
        specVersion: 1,
        name: "evil",
        source: { type: "huggingface", repo: "acme/e2e-evil", endpoint: hub.url },
      }),
    );
    const cli = await runCli(["fetch", "--spec", spec, "--out", out]);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toContain("Refusing a file path");
    expect(existsSync(outside)).toBe(false);
    expect(existsSync(out)).toBe(false); // no partial output either
  });
});
