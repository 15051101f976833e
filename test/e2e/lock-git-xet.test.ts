/**
 * A git-xet model through the lockfile (issue 14's "attack the new code paths"): `add` of a
 * `git-xet:` target, `lib.fromLock` built by real Nix with the store lacking every file (each
 * large file's own fixed-output derivation reconstructs it from Xet), the same layout as a
 * single-hash fetchModel, and `verify` of the entry against the LFS server. Real git with
 * `git http-backend`, the test LFS server offering the xet transfer, serve's Xet storage.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lockedBlobPath, parseLockFile } from "../../src/lockfile/index.js";
import type { HubServer } from "../../src/serve/index.js";
import { runCli } from "../helpers/cli.js";
import type { PushedRepo } from "../helpers/git-lfs-repo.js";
import { hasGitLfs } from "../helpers/git-lfs-server.js";
import { type GitXetRepo, startGitXetRepo } from "../helpers/git-xet-repo.js";
import { buildAll, expectSameLayout } from "../helpers/locked.js";
import { libPrelude, nixAvailable, nixReadableTempDir } from "../helpers/nix.js";
import { xetRepoFiles } from "../serve/xet-fixture.js";

const TOKEN = `glpat-lock-xet-${randomBytes(12).toString("hex")}`;

describe.skipIf(!nixAvailable || !hasGitLfs)("a locked git-xet model", () => {
  let servers: GitXetRepo;
  let hub: HubServer;
  let repo: PushedRepo;

  beforeAll(async () => {
    servers = await startGitXetRepo("acme/xet-locked", { ...xetRepoFiles(), "run.bin": randomBytes(150_000) }, TOKEN);
    ({ hub, repo } = servers);
  });

  afterAll(async () => {
    await servers?.close();
  });

  it("adds it, builds it file by file through Xet into fetchModel's layout, and verifies it unchanged", async () => {
    const target = `git-xet:${repo.url}@${repo.commit}`;
    const env = { GIT_TOKEN: TOKEN };
    const lock = join(await nixReadableTempDir("nmr-lock-git-xet-"), "models.lock.json");
    const added = await runCli(
      [
        "add",
        "xet-locked",
        target,
        "--endpoint",
        hub.url,
        "--token-env",
        "GIT_TOKEN",
        "--lock",
        lock,
        "--large-from",
        "64K",
      ],
      { env: { ...env, PATH: "/nonexistent", NIX_MODEL_REPO_GIT: "/usr/bin/git" } },
    );
    expect(added.code, added.stderr).toBe(0);
    const entry = parseLockFile(await readFile(lock), lock).models["xet-locked"]!;
    expect(entry.source).toEqual({ target, endpoint: hub.url });
    const large = entry.files.filter((file) => file.large);
    expect(large.length).toBeGreaterThan(0);
    for (const file of large) expect(file.ids.lfsOid, file.path).toBe(file.sha256);
    hub.clearRequests();

    const built = await buildAll(
      `${libPrelude} let m = (nmr.fromLock { lock = ${lock}; models.xet-locked = { auth.tokenEnvVar = "GIT_TOKEN"; network.xet = "required"; }; }).xet-locked; in [ m.raw ]`,
      env,
    );
    // The raw output: the fixture's weights are random bytes, which the scanner (rightly) refuses.
    expect(built.ok, built.stderr).toBe(true);
    // Every large file came through Xet, in a derivation of its own.
    expect(hub.requests.filter((request) => request.route === "xet-reconstruction").length).toBeGreaterThan(0);
    for (const file of large) expect(existsSync(lockedBlobPath(file)), file.path).toBe(true);

    const prefetched = await runCli(
      ["prefetch", target, "--endpoint", hub.url, "--token-env", "GIT_TOKEN", "--name", "xet-locked", "--json"],
      { env },
    );
    expect(prefetched.code, prefetched.stderr).toBe(0);
    await expectSameLayout(JSON.parse(prefetched.stdout).storePath as string, built.paths[0]!);

    const verified = await runCli(["verify", "xet-locked", "--token-env", "GIT_TOKEN", "--lock", lock, "--json"], {
      env: { ...env, NIX_MODEL_REPO_GIT: "/usr/bin/git" },
    });
    expect(verified.code, verified.stderr).toBe(0);
    expect(JSON.parse(verified.stdout).models[0]).toMatchObject({ name: "xet-locked", state: "unchanged" });
  });
});
