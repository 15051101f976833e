/**
 * Xet end to end: fetchModel of a repo serve keeps in Xet, built by real Nix with the bundled
 * fetcher, through Xet and through the bridge — the same output, the same hash — and loaded
 * offline the way huggingface_hub reads a cache. HF_HUB_DISABLE_XET reaches the builder
 * through impureEnvVars.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHubServer, type HubServer } from "../../src/serve/index.js";
import { assertEveryFileFoundOffline } from "../helpers/hf-offline.js";
import { writeHubRepo, type WrittenHubRepo } from "../helpers/hub-fixture.js";
import { FAKE_HASH, hubCacheWith, libPrelude, nixAvailable, nixBuild, reportedHash } from "../helpers/nix.js";
import { xetRepoFiles } from "../serve/xet-fixture.js";

const REPO = "acme/e2e-xet";

describe.skipIf(!nixAvailable)("fetchModel of a Xet repo, built by Nix", () => {
  let root: string;
  let repo: WrittenHubRepo;
  let hub: HubServer;
  let hash: string | undefined;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "nmr-e2e-xet-"));
    // Fresh bytes every run, so every build really runs instead of hitting the store.
    repo = await writeHubRepo(root, {
      repoId: REPO,
      files: { ...xetRepoFiles(), "run.bin": randomBytes(300_000) },
    });
    await writeFile(join(repo.folder, ".xet"), "");
    hub = await startHubServer({ root, cdn: { host: "127.0.0.2" }, xet: { xorbMaxBytes: 256 * 1024 } });
  });

  afterAll(async () => {
    await hub?.close();
    await rm(root, { recursive: true, force: true });
  });

  const build = (xet: string, withHash: string, options: { check?: boolean; env?: NodeJS.ProcessEnv } = {}) =>
    nixBuild(
      `${libPrelude} (nmr.fetchModel { name = "e2e-xet"; source.huggingface = { repo = "${REPO}"; endpoint = "${hub.url}"; }; network.xet = "${xet}"; hash = "${withHash}"; }).raw`,
      options,
    );
  const xetRequests = () => hub.requests.filter((request) => request.route.startsWith("xet-")).length;

  it("builds through Xet, and the model loads offline", async () => {
    hub.clearRequests();
    const first = await build("required", FAKE_HASH);
    expect(first.stderr).toContain("hash mismatch in fixed-output derivation");
    hash = reportedHash(first);
    expect(hash).toMatch(/^sha256-/);
    expect(hub.requests.some((request) => request.route === "xet-reconstruction")).toBe(true);

    const result = await build("required", hash!);
    expect(result.stderr).not.toContain("error:");
    expect(result.ok).toBe(true);
    const cache = await hubCacheWith(result.outPath!, REPO);
    await assertEveryFileFoundOffline(cache, REPO, new Map(repo.files.map((file) => [file.path, file.sha256])));
  });

  it("rebuilds through the bridge to the same bytes (nix-build --check)", async () => {
    hub.clearRequests();
    const result = await build("off", hash!, { check: true });
    expect(result.stderr).not.toContain("error:");
    expect(result.ok).toBe(true);
    expect(xetRequests()).toBe(0);
  });

  it("rebuilds with HF_HUB_DISABLE_XET from the builder's environment: no Xet, the same bytes", async () => {
    hub.clearRequests();
    const result = await build("auto", hash!, { check: true, env: { HF_HUB_DISABLE_XET: "1" } });
    expect(result.ok).toBe(true);
    expect(result.stderr).toContain("Xet is off (HF_HUB_DISABLE_XET=1)");
    expect(xetRequests()).toBe(0);
  });
});
