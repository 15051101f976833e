/**
 * The exports the original design lists (ARCHITECTURE.md §6.3, §17.1): the fetchFrom*
 * fetchers, prefetchModel, mkHfCachePath, and the flake's pkgs-first functions, which say
 * what to write when called without pkgs.
 */
import { describe, expect, it } from "vitest";
import { libPrelude, nixAvailable, nixEval, repoRoot, SOME_HASH } from "../helpers/nix.js";

async function value<T>(expression: string): Promise<T> {
  const result = await nixEval(`${libPrelude} ${expression}`);
  expect(result.stderr, result.stderr).not.toContain("error:");
  return result.value as T;
}

describe.skipIf(!nixAvailable)("the library's exports (stand-in pkgs)", () => {
  it("fetchFrom* take the source's options beside fetchModel's, as nixpkgs' fetchFrom* do", async () => {
    const specs = await value<Record<string, { name: string; source: Record<string, unknown> }>>(`let
        spec = m: { inherit (m) name; source = m.spec.source; };
        hash = "${SOME_HASH}";
      in builtins.mapAttrs (_: spec) {
        s3 = nmr.fetchFromS3 { bucket = "models"; prefix = "bert"; region = "eu-west-1"; inherit hash; };
        gitLfs = nmr.fetchFromGitLfs { url = "https://git.example/acme/tiny.git"; rev = "${"a".repeat(40)}"; inherit hash; };
        gitXet = nmr.fetchFromGitXet { url = "https://git.example/acme/tiny.git"; rev = "${"a".repeat(40)}"; xet.endpoint = "https://cas.example"; inherit hash; };
        url = nmr.fetchFromUrl { name = "weights"; urls = [ { url = "https://example.org/w.bin"; sha256 = "${"b".repeat(64)}"; } ]; inherit hash; };
        ollama = nmr.fetchFromOllama { model = "llama3.2:1b"; inherit hash; };
        mlflow = nmr.fetchFromMlflow { trackingUri = "https://mlflow.example"; modelName = "churn"; modelVersion = 3; inherit hash; };
        hf = nmr.fetchFromHuggingFace { repo = "acme/tiny"; revision = "v1"; inherit hash; validation.enable = false; };
      }`);
    expect(Object.fromEntries(Object.entries(specs).map(([k, v]) => [k, [v.name, v.source["type"]]]))).toEqual({
      s3: ["bert", "s3"],
      gitLfs: ["tiny", "git-lfs"],
      gitXet: ["tiny", "git-xet"],
      url: ["weights", "url"],
      ollama: ["llama3.2-1b", "ollama"],
      mlflow: ["churn", "mlflow"],
      hf: ["tiny-raw", "huggingface"],
    });
    expect(specs["mlflow"]!.source).toMatchObject({ modelVersion: "3" });
  });

  it("prefetchModel gives the prefetch command and the fake-hash route", async () => {
    const v = await value<Record<string, Record<string, string>>>(`{
        target = builtins.removeAttrs (nmr.prefetchModel "hf:acme/tiny@v1") [ "__toString" ];
        config = builtins.removeAttrs (nmr.prefetchModel { name = "tiny-v1"; source.huggingface = { repo = "acme/tiny"; files = [ "*.json" ]; }; }) [ "__toString" ];
        flags = { inherit (nmr.prefetchModel { target = "mlflow:churn/3"; endpoint = "https://mlflow.example"; }) command name; };
        interpolated.command = "\${nmr.prefetchModel "ollama:llama3.2:1b"}";
      }`);
    expect(v["target"]).toEqual({
      name: "tiny",
      rawName: "tiny-raw",
      command: "nix-model-repo prefetch 'hf:acme/tiny@v1'",
      fakeHash: "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
      howTo: expect.stringContaining('Or set hash = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";'),
    });
    // For a configuration: the same command fetchModel's missing-hash error shows.
    expect(v["config"]!["command"]).toBe("nix-model-repo prefetch hf:acme/tiny@main --files '*.json' --name tiny-v1");
    expect(v["flags"]).toEqual({
      command: "nix-model-repo prefetch 'mlflow:churn/3' --endpoint 'https://mlflow.example'",
      name: "churn",
    });
    expect(v["interpolated"]!["command"]).toBe("nix-model-repo prefetch 'ollama:llama3.2:1b'");
  });

  it("mkHfCachePath names a repo's folder as huggingface_hub does", async () => {
    expect(
      await value(`[
        (nmr.mkHfCachePath "acme/tiny")
        (nmr.mkHfCachePath "gpt2")
        (nmr.mkHfCachePath { repo = "acme/squad"; repoType = "dataset"; cacheDir = /var/cache/hf/hub; })
        (nmr.mkHfCachePath (nmr.fetchModel { source.huggingface.repo = "acme/tiny"; hash = "${SOME_HASH}"; integration.huggingface.model = "renamed"; }))
      ]`),
    ).toEqual([
      "models--acme--tiny",
      "models--gpt2",
      "/var/cache/hf/hub/datasets--acme--squad",
      "models--acme--renamed",
    ]);
    const bad = await nixEval(`${libPrelude} nmr.mkHfCachePath "acme/a--b"`);
    expect(bad.stderr).toContain('mkHfCachePath: repo must be a Hub repo id "org/name"');
  });

  it("the flake's functions that build take pkgs first, and say so when called without", async () => {
    const flake = `(import ${repoRoot}/test/integration/flake-stand-in.nix).nix-model-repo`;
    // prefetchModel builds nothing: both of the design's forms (§6.3 without pkgs, §17.1 with).
    const both = await nixEval(
      `let f = import ${repoRoot}/test/integration/flake-stand-in.nix; in map (p: p.command) [ (f.nix-model-repo.lib.prefetchModel f.pkgs "hf:acme/tiny") (f.nix-model-repo.lib.prefetchModel "hf:acme/tiny") ]`,
    );
    expect(both.value).toEqual(Array(2).fill("nix-model-repo prefetch 'hf:acme/tiny'"));
    const fetchModel = await nixEval(
      `${flake}.lib.fetchModel { source.huggingface.repo = "acme/tiny"; hash = "${SOME_HASH}"; }`,
    );
    expect(fetchModel.stderr).toContain("nix-model-repo.lib.fetchModel takes pkgs first");
  });
});
