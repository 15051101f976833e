/**
 * The validation phase end to end: models served by the project's Hub server on loopback,
 * prefetched into the store (phase 1), then fetchModel built by real Nix with the stand-in
 * pkgs, so each build below runs phase 2 — `nix-model-repo validate` — for real.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { lstat, mkdtemp, readFile, readdir, readlink, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startHubServer, type HubServer } from "../../src/serve/index.js";
import { writeHubRepo } from "../helpers/hub-fixture.js";
import { assertEveryFileFoundOffline } from "../helpers/hf-offline.js";
import { runCli } from "../helpers/cli.js";
import { libPrelude, nixAvailable, nixBuild, type NixBuildResult } from "../helpers/nix.js";
import { cleanModelFiles, corpus, safetensors } from "../validate/fixtures.js";

interface Prefetched {
  readonly repo: string;
  readonly hash: string;
  readonly storePath: string;
  readonly files: Record<string, Buffer | string>;
}

/** A nonce in config.json: fresh content each run, so every phase 2 below really builds. */
const nonce = randomBytes(8).toString("hex");
const withNonce = (files: Record<string, Buffer | string>) => ({
  ...files,
  "config.json": JSON.stringify({ model_type: "tiny", run: nonce }),
});

const MODELS: Record<string, Record<string, Buffer | string>> = {
  clean: withNonce(cleanModelFiles()),
  evil: withNonce({ ...cleanModelFiles(), "pytorch_model.bin": corpus("m17-torch-zip.pt") }),
  // A clean PyTorch checkpoint (a plain state dict) beside the safetensors weights.
  binweights: withNonce({ ...cleanModelFiles(), "pytorch_model.bin": corpus("b2-state-dict.pt") }),
  // Trainer state: a pickle of classes outside the scanner's allowlist (verdict WARN).
  trainer: withNonce({ ...cleanModelFiles(), "training_args.bin": corpus("b11-trainer-state.pt") }),
  big: withNonce({ ...cleanModelFiles(), "model.safetensors": safetensors((100 << 20) / 4) }),
};

describe.skipIf(!nixAvailable)("fetchModel's validation phase, built by Nix", () => {
  let root: string;
  let hub: HubServer;
  const models: Record<string, Prefetched> = {};

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "nmr-e2e-validation-"));
    for (const [name, files] of Object.entries(MODELS)) await writeHubRepo(root, { repoId: `acme/val-${name}`, files });
    hub = await startHubServer({ root });
    for (const [name, files] of Object.entries(MODELS)) {
      const repo = `acme/val-${name}`;
      const result = await runCli(["prefetch", `hf:${repo}`, "--endpoint", hub.url, "--json"]);
      expect(result.code, result.stderr).toBe(0);
      const { hash, storePath } = JSON.parse(result.stdout) as { hash: string; storePath: string };
      models[name] = { repo, hash, storePath, files };
    }
  }, 300_000);

  afterAll(async () => {
    await hub?.close();
    await rm(root, { recursive: true, force: true });
  });

  function build(model: string, validation: string | null, options: { check?: boolean } = {}): Promise<NixBuildResult> {
    const m = models[model]!;
    const fields = `source.huggingface = { repo = "${m.repo}"; endpoint = "${hub.url}"; }; hash = "${m.hash}";${validation === null ? "" : ` validation = ${validation};`}`;
    return nixBuild(
      `${libPrelude} let inherit (nmr.validation) presets validators mkValidator; in nmr.fetchModel { ${fields} }`,
      options,
    );
  }

  async function report(
    outPath: string,
  ): Promise<{ result: string; preset: string; validators: Array<Record<string, unknown>> }> {
    return JSON.parse(await readFile(join(outPath, ".nix-model-repo-meta.json"), "utf8")).validation;
  }

  it("passes a clean model with every preset, and `none` gives the raw download", async () => {
    for (const preset of ["minimal", "standard", "strict", "paranoid"]) {
      const result = await build("clean", `presets.${preset}`);
      expect(result.ok, result.stderr).toBe(true);
      expect(result.outPath).toMatch(/-val-clean$/);
      const validation = await report(result.outPath!);
      expect(validation).toMatchObject({ preset, result: "passed" });
      expect(validation.validators.every((v) => v["status"] === "passed")).toBe(true);
    }
    const none = await build("clean", "presets.none");
    expect(none.outPath).toBe(models["clean"]!.storePath);
  });

  it("links into the raw output, adds under 64 KiB to the store for a 100 MiB model, and everything loads offline", async () => {
    const big = models["big"]!;
    const started = Date.now();
    const result = await build("big", null);
    const seconds = (Date.now() - started) / 1000;
    expect(result.ok, result.stderr).toBe(true);
    const out = result.outPath!;

    const narSize = Number(execFileSync("nix-store", ["--query", "--size", out], { encoding: "utf8" }).trim());
    const rawSize = Number(
      execFileSync("nix-store", ["--query", "--size", big.storePath], { encoding: "utf8" }).trim(),
    );
    expect(rawSize).toBeGreaterThan(100 << 20);
    expect(narSize).toBeLessThan(64 << 10);
    // The measurements the issue asks for, in the test log.
    console.log(
      `phase 2 of a ${(rawSize / 2 ** 20).toFixed(1)} MiB model: ${narSize} bytes in the store, built (nix-build, phase 2 only) in ${seconds.toFixed(1)} s`,
    );

    expect((await readdir(out)).sort()).toEqual([".nix-model-repo-meta.json", "blobs", "refs", "snapshots", "trees"]);
    for (const entry of ["blobs", "refs", "snapshots", "trees"]) {
      expect((await lstat(join(out, entry))).isSymbolicLink()).toBe(true);
      expect(await readlink(join(out, entry))).toBe(`${big.storePath}/${entry}`);
    }
    const rawMeta = JSON.parse(await readFile(join(big.storePath, ".nix-model-repo-meta.json"), "utf8"));
    const meta = JSON.parse(await readFile(join(out, ".nix-model-repo-meta.json"), "utf8"));
    expect({ ...meta, validation: undefined }).toEqual({ ...rawMeta, validation: undefined });
    expect(meta.validation).toMatchObject({
      reportVersion: 1,
      preset: "standard",
      result: "passed",
      validators: [{ name: "scanner", status: "passed" }],
    });

    const cache = await mkdtemp(join(tmpdir(), "nmr-e2e-validated-cache-"));
    try {
      await symlink(out, join(cache, "models--acme--val-big"));
      const expected = Object.fromEntries(
        Object.entries(big.files).map(([path, content]) => [path, Buffer.from(content)]),
      );
      await assertEveryFileFoundOffline(cache, big.repo, expected);
    } finally {
      await rm(cache, { recursive: true, force: true });
    }
  });

  it("gives a byte-identical output, report included, when phase 2 is built again (nix-build --check)", async () => {
    const first = await build(
      "evil",
      `{ onFailure = "warn"; validators = [ validators.noPickleFiles (validators.licenseCheck { allow = [ "mit" ]; }) ]; }`,
    );
    expect(first.ok, first.stderr).toBe(true);
    const again = await build(
      "evil",
      `{ onFailure = "warn"; validators = [ validators.noPickleFiles (validators.licenseCheck { allow = [ "mit" ]; }) ]; }`,
      { check: true },
    );
    expect(again.ok, again.stderr).toBe(true);
    expect(again.stderr).not.toContain("may not be deterministic");
  });

  it("aborts `standard` on a malicious pickle: the findings, and how to relax the check", async () => {
    const result = await build("evil", null);
    expect(result.ok).toBe(false);
    expect(result.stderr).toContain(`Validation of model "val-evil" failed: validator scanner refused it`);
    expect(result.stderr).toContain(
      "pytorch_model.bin: MALICIOUS DENYLISTED_IMPORT in archive/data.pkl: GLOBAL imports posix.system",
    );
    expect(result.stderr).toContain(`validation.defaults.scanner = { failOn = "MALICIOUS"; };`);
    expect(result.stderr).toContain("validation.defaults.scanner = false;");
    expect(result.stderr).toContain(`validation.onFailure = "warn";`);
  });

  it("with onFailure = warn builds, with the warning in the log and the report", async () => {
    const result = await build("evil", `{ onFailure = "warn"; }`);
    expect(result.ok, result.stderr).toBe(true);
    expect(result.stderr).toContain(
      `warning: validator scanner failed (onFailure = "warn", the build goes on): 2 findings`,
    );
    expect(result.stderr).toContain("pytorch_model.bin: MALICIOUS DENYLISTED_IMPORT");
    const validation = await report(result.outPath!);
    expect(validation.result).toBe("warned");
    expect(validation.validators[0]).toMatchObject({
      name: "scanner",
      outcome: "fail",
      status: "warned",
      findings: [{ file: "pytorch_model.bin" }, { file: "pytorch_model.bin" }],
    });
  });

  it("with onFailure = skip builds without a word about it", async () => {
    const result = await build("evil", `{ onFailure = "skip"; }`);
    expect(result.ok, result.stderr).toBe(true);
    expect(result.stderr).not.toMatch(/warning: validator|MALICIOUS/);
    expect((await report(result.outPath!)).validators[0]).toMatchObject({ status: "skipped", outcome: "fail" });
  });

  it("warns, under standard, about a pickle of classes it cannot vouch for", async () => {
    const result = await build("trainer", null);
    expect(result.ok, result.stderr).toBe(true);
    expect(result.stderr).toContain("warning: validator scanner warns: 2 findings");
    expect((await report(result.outPath!)).validators[0]).toMatchObject({ outcome: "warn", status: "warned" });
  });

  it("paranoid rejects .bin weights that standard accepts", async () => {
    expect((await build("binweights", null)).ok).toBe(true);
    const result = await build("binweights", "presets.paranoid");
    expect(result.ok).toBe(false);
    expect(result.stderr).toContain("validator no-pickle refused it");
    expect(result.stderr).toContain("pytorch_model.bin: pytorch-zip data: loading it unpickles it");
    expect(result.stderr).toContain(`leave validators.noPickleFiles out of validation.validators`);
    expect(result.stderr).toContain("validation = lib.validation.presets.standard;");
    const withoutPickleCheck = await build(
      "binweights",
      `presets.paranoid // { validators = [ validators.safetensorsOnly ]; }`,
    );
    expect(withoutPickleCheck.stderr).toContain("validator safetensors-only refused it");
    expect(withoutPickleCheck.stderr).toContain("pytorch_model.bin: not safetensors: pytorch-zip data");
  });

  it("runs a custom validator that sees $src; its exit status decides", async () => {
    const config = models["clean"]!.files["config.json"] as string;
    const sees = await build(
      "clean",
      `{ validators = [ (validators.custom { name = "sees-src"; script = ''
        test "$(cat "$src/config.json")" = ${JSON.stringify(config).replace(/\$/g, "\\$")}
        test -L "$src/model.safetensors" && test ! -e "$src/.nix-model-repo-meta.json"
        test -z "''\${out:-}"
        echo "custom validator saw $(ls "$src" | wc -l) files"
      ''; }) ]; }`,
    );
    expect(sees.ok, sees.stderr).toBe(true);
    expect(sees.stderr).toContain("[sees-src] custom validator saw 4 files");

    const refuses = await build(
      "clean",
      `{ validators = [ (mkValidator { name = "refuses"; command = "echo nope >&2; exit 7"; }) ]; }`,
    );
    expect(refuses.ok).toBe(false);
    expect(refuses.stderr).toContain("[refuses] nope");
    expect(refuses.stderr).toContain("exited with status 7");
    expect(refuses.stderr).toContain(`leave the validator named "refuses" out of validation.validators`);
  });

  it("kills a validator that runs past its timeout", async () => {
    const started = Date.now();
    const result = await build(
      "clean",
      `{ validators = [ (validators.custom { name = "slow"; script = "sleep 600"; timeout = 1; }) ]; }`,
    );
    expect(result.ok).toBe(false);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(result.stderr).toContain("timed out after 1 s");
    expect(result.stderr).toContain(
      `give it longer in the model's fetchModel call: timeout = 4; on the validator named "slow"`,
    );
  });

  it("runs nixpkgs' modelscan when asked (here its stand-in, with modelscan's exit statuses)", async () => {
    const refused = await build("evil", `{ defaults = { scanner = false; modelscan = true; }; }`);
    expect(refused.ok).toBe(false);
    expect(refused.stderr).toContain("[modelscan] modelscan (test stand-in, not protectai/modelscan)");
    expect(refused.stderr).toContain("modelscan found unsafe content");
    expect(refused.stderr).toContain("validation.defaults.modelscan = false;");
    // Nothing modelscan supports (status 3) is a pass.
    const clean = await build("clean", `{ validators = [ validators.modelscan ]; }`);
    expect(clean.ok, clean.stderr).toBe(true);
    expect(clean.stderr).toContain("modelscan: no file it supports, nothing to scan");
  });
});
