/**
 * The flake's outputs, evaluated (and partly built) with the stand-in pkgs as nixpkgs:
 * what the design lists is there, takes pkgs where it should, and works.
 */
import { describe, expect, it } from "vitest";
import { nixAvailable, nixBuild, nixEval, repoRoot, nixStderrWithoutBusyRetries } from "../helpers/nix.js";

const prelude = `let
  f = import ${repoRoot}/test/integration/flake-stand-in.nix;
  flake = f.nix-model-repo;
  inherit (f) pkgs;
  system = builtins.currentSystem;
in`;
const HASH = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

async function value<T>(expression: string): Promise<T> {
  const result = await nixEval(`${prelude} ${expression}`);
  expect(result.stderr, result.stderr).not.toContain("error:");
  return result.value as T;
}

describe.skipIf(!nixAvailable)("flake outputs (stand-in nixpkgs)", () => {
  it("has the outputs the design lists, per system where they build", async () => {
    expect(
      await value(`{
        top = builtins.attrNames flake;
        lib = builtins.attrNames flake.lib;
        validation = builtins.attrNames flake.lib.validation;
        integration = builtins.attrNames flake.lib.integration;
        perSystem = map (o: builtins.attrNames flake.\${o}) [ "models" "rawModels" "packages" "devShells" "checks" ];
        modules = map builtins.isFunction [ flake.nixosModules.default flake.homeManagerModules.default flake.overlays.default ];
      }`),
    ).toEqual({
      top: [
        "checks",
        "devShells",
        "homeManagerModules",
        "lib",
        "modelDefs",
        "models",
        "nixosModules",
        "outPath",
        "overlays",
        "packages",
        "rawModels",
      ],
      lib: [
        "fetchFromGitLfs",
        "fetchFromGitXet",
        "fetchFromHuggingFace",
        "fetchFromMlflow",
        "fetchFromOllama",
        "fetchFromS3",
        "fetchFromUrl",
        "fetchModel",
        "fromLock",
        "instantiate",
        "instantiateRaw",
        "integration",
        "mkHfCachePath",
        "mkHfSymlinks",
        "mkModelWrapper",
        "mkShellHook",
        "mkValidator",
        "parseModelSpec",
        "prefetchModel",
        "sources",
        "validation",
        "validators",
      ],
      validation: ["mkValidator", "presets", "validators"],
      integration: [
        "describeModel",
        "mkEnvironment",
        "mkHfHub",
        "mkHfSymlinks",
        "mkModelWrapper",
        "mkOllamaModels",
        "mkShellHook",
      ],
      perSystem: Array(5).fill(["aarch64-darwin", "aarch64-linux", "x86_64-darwin", "x86_64-linux"]),
      modules: [true, true, true],
    });
  });

  it("builds models with this flake's fetcher, and integration helpers take pkgs first", async () => {
    const v = await value<{ builder: string; fetcher: string; hub: string; hook: string }>(`let
        model = flake.lib.fetchModel pkgs { source.huggingface.repo = "acme/tiny"; hash = "${HASH}"; };
      in {
        builder = model.raw.drvAttrs.builder;
        fetcher = "\${flake.packages.\${system}.default}";
        hub = (flake.lib.integration.mkHfHub pkgs { models = [ model ]; }).name;
        hook = flake.lib.mkShellHook pkgs { models = [ model ]; quiet = true; };
      }`);
    expect(v.builder).toBe(`${v.fetcher}/bin/nix-model-repo`);
    expect(v.hub).toBe("hf-hub");
    expect(v.hook).toContain("export HF_HUB_OFFLINE='1'");
  });

  it("models.<system> holds the registry; unpinned entries are placeholders that say how to pin them", async () => {
    const v = await value<{
      defs: Record<string, Record<string, { hash: null | string; description: string }>>;
      unpinned: boolean[];
      rawName: string;
    }>(`{
        defs = builtins.mapAttrs (_: builtins.mapAttrs (_: d: { hash = d.hash; description = d.meta.description; })) flake.modelDefs;
        unpinned = map (m: m.unpinned && m.meta.broken) (builtins.concatMap builtins.attrValues (builtins.attrValues flake.models.\${system}));
        rawName = flake.rawModels.\${system}.openai-community.gpt2.name;
      }`);
    const entries = Object.values(v.defs).flatMap((org) => Object.values(org));
    expect(entries.length).toBeGreaterThanOrEqual(5);
    for (const entry of entries) {
      expect(entry.hash).toBeNull(); // none was prefetched here, so none claims a hash
      expect(entry.description.length).toBeGreaterThan(10);
    }
    expect(v.unpinned).toEqual(Array(entries.length).fill(true));
    expect(v.rawName).toBe("gpt2-unpinned");
    const built = await nixBuild(`${prelude} flake.models.\${system}.sentence-transformers.all-MiniLM-L6-v2`);
    expect(built.ok).toBe(false);
    expect(built.stderr).toContain(`hash is missing for model "all-MiniLM-L6-v2"`);
    expect(built.stderr).toContain(
      "nix-model-repo prefetch hf:sentence-transformers/all-MiniLM-L6-v2@main --files 'config.json'",
    );
  });

  it("overlays.default gives pkgs the CLI, the library and fetchModel", async () => {
    const v = await value<{ cli: string; fetched: string; integration: boolean; design: unknown[] }>(`let
        final = pkgs // flake.overlays.default final pkgs;
      in {
        cli = final.nix-model-repo.name;
        fetched = (final.fetchModel { source.huggingface.repo = "acme/tiny"; hash = "${HASH}"; }).name;
        integration = final.nixModelRepo.integration ? mkHfHub;
        # The original design's names (ARCHITECTURE.md §17.1).
        design = [
          (final.fetchAiModel { source.huggingface.repo = "acme/tiny"; hash = "${HASH}"; }).name
          (final.aiModelSources.huggingface.metaLlama "Llama-2-7b-hf").huggingface.repo
          (builtins.attrNames final.aiModelValidation)
        ];
      }`);
    // package.nix, built by the stand-in's buildNpmPackage from this checkout's bundle.
    expect(v).toEqual({
      cli: "nix-model-repo-0.1.0",
      fetched: "tiny",
      integration: true,
      design: ["tiny", "meta-llama/Llama-2-7b-hf", ["mkValidator", "presets", "validators"]],
    });
  });

  it("default.nix gives the same without flakes: library, registry, modules", async () => {
    const v = await value<
      Record<string, unknown>
    >(`let nmr = import ${repoRoot} { inherit pkgs; fetcher = pkgs.nix-model-repo-dev; }; in {
        integration = builtins.attrNames nmr.integration == builtins.attrNames flake.lib.integration;
        registry = builtins.attrNames nmr.models == builtins.attrNames flake.modelDefs;
        unpinned = nmr.models.openai-community.gpt2.unpinned;
        modules = map builtins.isPath [ nmr.modules.nixos nmr.modules.home-manager ];
        hook = builtins.isString (nmr.mkShellHook { models = [ ]; });
      }`);
    expect(v).toEqual({ integration: true, registry: true, unpinned: true, modules: [true, true], hook: true });
  });

  it("checks.<system>.integration builds, and the dev shell evaluates", async () => {
    const check = await nixBuild(`${prelude} flake.checks.\${system}.integration`);
    expect(nixStderrWithoutBusyRetries(check.stderr), check.stderr).not.toMatch(/error:/);
    expect(check.outPath).toMatch(/-check-integration$/);
    expect(await value(`flake.devShells.\${system}.default.name`)).toBe("nix-shell");
    // What `nix develop` instantiates: with the stand-in's nodejs_20 insecure, as in nixpkgs,
    // a shell still built on it would refuse here.
    expect(await value(`builtins.isString flake.devShells.\${system}.default.drvPath`)).toBe(true);
  });
});
