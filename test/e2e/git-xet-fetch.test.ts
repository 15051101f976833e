/**
 * source.git-xet end to end: real Nix builds the fixed-output derivation; the fetcher runs the
 * host's git against `git http-backend`, asks the test LFS server's Batch API with the xet
 * transfer offered, and reconstructs the LFS objects from serve's Xet storage. The model is
 * then loaded offline as huggingface_hub reads a cache, and rebuilt through the basic
 * transfer to the same bytes.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HubServer } from "../../src/serve/index.js";
import type { PushedRepo } from "../helpers/git-lfs-repo.js";
import { type GitLfsServer, hasGitLfs } from "../helpers/git-lfs-server.js";
import { type GitXetRepo, startGitXetRepo } from "../helpers/git-xet-repo.js";
import { assertEveryFileFoundOffline } from "../helpers/hf-offline.js";
import { FAKE_HASH, hubCacheWith, libPrelude, nixAvailable, nixBuild, reportedHash } from "../helpers/nix.js";
import { xetRepoFiles } from "../serve/xet-fixture.js";

const TOKEN = `glpat-e2e-xet-${randomBytes(12).toString("hex")}`;

describe.skipIf(!nixAvailable || !hasGitLfs)("fetchModel of a git-xet repository, built by Nix", () => {
  let servers: GitXetRepo;
  let lfs: GitLfsServer;
  let hub: HubServer;
  let repo: PushedRepo;
  let hash: string | undefined;

  beforeAll(async () => {
    // Fresh bytes every run, so every build really runs instead of hitting the store.
    servers = await startGitXetRepo("acme/xet-tiny", { ...xetRepoFiles(), "run.bin": randomBytes(200_000) }, TOKEN);
    ({ lfs, hub, repo } = servers);
  });

  afterAll(async () => {
    await servers?.close();
  });

  const build = (xet: string, withHash: string, check = false) =>
    nixBuild(
      `${libPrelude} (nmr.fetchModel {
        name = "xet-tiny";
        source.git-xet = { url = "${repo.url}"; rev = "${repo.commit}"; xet.endpoint = "${hub.url}"; };
        auth.tokenEnvVar = "GIT_TOKEN";
        network.xet = "${xet}";
        hash = "${withHash}";
      }).raw`,
      { env: { GIT_TOKEN: TOKEN }, check },
    );

  it("builds through Xet, and every file loads offline", async () => {
    hub.clearRequests();
    const first = await build("required", FAKE_HASH);
    expect(first.stderr).toContain("hash mismatch in fixed-output derivation");
    expect(first.stderr).not.toContain(TOKEN);
    hash = reportedHash(first);
    expect(hash).toMatch(/^sha256-/);
    const lfsCount = repo.files.filter((file) => file.lfs).length;
    expect(hub.requests.filter((request) => request.route === "xet-reconstruction")).toHaveLength(lfsCount);

    const result = await build("required", hash!);
    expect(result.stderr).not.toContain("error:");
    expect(result.ok).toBe(true);
    const cache = await hubCacheWith(result.outPath!, "acme/xet-tiny");
    await assertEveryFileFoundOffline(
      cache,
      "acme/xet-tiny",
      new Map(repo.files.map((file) => [file.path, file.sha256])),
    );
  });

  it("rebuilds through the basic transfer to the same bytes (nix-build --check)", async () => {
    hub.clearRequests();
    lfs.log.length = 0;
    const result = await build("off", hash!, true);
    expect(result.stderr).not.toContain("error:");
    expect(result.ok).toBe(true);
    expect(hub.requests).toHaveLength(0);
    expect(lfs.log.some((request) => /\/objects\/[0-9a-f]{64}$/.test(request.path))).toBe(true);
  });
});
