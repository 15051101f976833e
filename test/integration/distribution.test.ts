/**
 * docs/distribution.md, checked: a fetched model goes to a binary cache with `nix copy`
 * (file://, zstd) and from there into a second store, byte for byte (the NAR hash is the
 * model's own fixed-output hash). The download is content-addressed, so a store accepts
 * it unsigned; the validated output is not, so it needs a signature or --no-check-sigs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { runCli } from "../helpers/cli.js";
import { libPrelude, nixAvailable, nixBuild, nixReadableTempDir, nixStderrWithoutBusyRetries } from "../helpers/nix.js";
import { modelFiles, startModelHub, type ModelHub, type PrefetchedModel } from "./fixtures.js";

const NIX = ["--extra-experimental-features", "nix-command"];

function nix(args: readonly string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("nix", [...NIX, ...args], { maxBuffer: 16 << 20 }, (error, stdout, stderr) =>
      resolve({ ok: !error, stdout, stderr }),
    );
  });
}

describe.skipIf(!nixAvailable)("distributing a model through a binary cache (nix copy)", () => {
  let models: ModelHub;
  let fetched: PrefetchedModel;
  let validated: string;
  let work: string;

  beforeAll(async () => {
    work = await nixReadableTempDir("nmr-distribution-");
    models = await startModelHub([{ repoId: "acme/fleet", files: modelFiles("fleet") }]);
    fetched = await models.prefetch("acme/fleet");
    const built = await nixBuild(`${libPrelude} nmr.fetchModel { ${fetched.args} hash = "${fetched.hash}"; }`);
    expect(nixStderrWithoutBusyRetries(built.stderr), built.stderr).not.toMatch(/error:/);
    validated = built.outPath!;
  });

  afterAll(async () => {
    await models?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("copies the model and its download to a file:// cache and into a second store, hash for hash", async () => {
    const cache = `file://${join(work, "cache")}?compression=zstd`;
    const pushed = await nix(["copy", "--to", cache, validated]);
    expect(pushed.stderr, pushed.stderr).not.toMatch(/error/);

    // The download's narinfo: its NAR hash is the fetchModel hash, and it is content-addressed.
    const rawBase = fetched.storePath.split("/").pop()!;
    const narinfo = readFileSync(join(work, "cache", `${rawBase.slice(0, 32)}.narinfo`), "utf8");
    expect(narinfo).toContain("Compression: zstd");
    expect(narinfo).toMatch(/^CA: fixed:r:sha256:/m);
    const narHash = /^NarHash: (sha256:[a-z0-9]+)$/m.exec(narinfo)![1]!;
    const sri = await nix(["hash", "to-sri", narHash]);
    expect(sri.stdout.trim()).toBe(fetched.hash);
    expect(readdirSync(join(work, "cache", "nar")).every((file) => file.endsWith(".nar.zst"))).toBe(true);

    // A second store takes the content-addressed download without any signature...
    const store2 = join(work, "store2");
    const raw = await nix(["copy", "--from", cache, "--to", store2, fetched.storePath]);
    expect(raw.stderr, raw.stderr).not.toMatch(/error/);
    const info = JSON.parse(
      (await nix(["path-info", "--store", store2, "--json", fetched.storePath])).stdout,
    ) as Array<{ narHash: string; ca: string }>;
    expect(info[0]!.narHash).toBe(fetched.hash);
    // ...and the bytes it holds hash to the same value (the project's own NAR hasher).
    const rehashed = await runCli(["hash", join(store2, fetched.storePath)]);
    expect(rehashed.stdout.trim()).toBe(fetched.hash);

    // The validated output is input-addressed: unsigned, it is refused unless the client opts out.
    const refused = await nix(["copy", "--from", cache, "--to", store2, validated]);
    expect(refused.ok).toBe(false);
    expect(refused.stderr).toMatch(/lacks a valid signature/);
    const accepted = await nix(["copy", "--no-check-sigs", "--from", cache, "--to", store2, validated]);
    expect(accepted.stderr, accepted.stderr).not.toMatch(/error/);
    // It still only links into the download (no second copy of the weights).
    expect(readlinkSync(join(store2, validated, "blobs"))).toBe(`${fetched.storePath}/blobs`);
  });
});
