{
  description = "Machine-learning models in the Nix store, fetched reproducibly, checked and wired for Hugging Face and Ollama";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      forAllSystems = f: builtins.listToAttrs (map (system: { name = system; value = f nixpkgs.legacyPackages.${system}; }) systems);
      systemOf = pkgs: pkgs.stdenv.hostPlatform.system;

      # The library for a package set, built with this flake's fetcher package.
      libFor = pkgs: import ./lib {
        inherit pkgs;
        fetcher = self.packages.${systemOf pkgs}.default or null;
      };

      # Every integration helper takes pkgs first, as fetchModel does:
      #   nix-model-repo.lib.integration.mkHfHub pkgs { models = [ ... ]; }
      # (The names are read without evaluating the helpers, so no pkgs is needed here.)
      integrationNames = builtins.attrNames (import ./lib/integration { surface = null; utils = null; });

      modelDefs = import ./models;

      # What needs pkgs takes it first, as fetchModel does: fetchModel pkgs { ... }.
      withPkgs = name: pkgs:
        if builtins.isString pkgs || (builtins.isAttrs pkgs && !(pkgs ? stdenv)) then
          throw "nix-model-repo.lib.${name} takes pkgs first, as fetchModel does: nix-model-repo.lib.${name} pkgs ..."
        else (libFor pkgs).${name};
    in
    {
      lib = import ./lib/without-pkgs.nix // {
        # fetchModel pkgs { name; source; hash; ... }
        fetchModel = withPkgs "fetchModel";
        # fetchFromS3 pkgs { bucket; prefix; hash; ... }: the source's options beside fetchModel's.
        fetchFromHuggingFace = withPkgs "fetchFromHuggingFace";
        fetchFromS3 = withPkgs "fetchFromS3";
        fetchFromGitLfs = withPkgs "fetchFromGitLfs";
        fetchFromUrl = withPkgs "fetchFromUrl";
        fetchFromOllama = withPkgs "fetchFromOllama";
        fetchFromMlflow = withPkgs "fetchFromMlflow";
        # prefetchModel pkgs "hf:acme/tiny@main" → { command; fakeHash; ... } (as the original design
        # writes it; the result does not depend on pkgs)
        prefetchModel = withPkgs "prefetchModel";
        integration = builtins.listToAttrs (map (name: { inherit name; value = pkgs: (libFor pkgs).integration.${name}; }) integrationNames);
        # mkShellHook pkgs { models = [ ... ]; } → a shellHook string; mkHfSymlinks, mkModelWrapper alike.
        mkShellHook = withPkgs "mkShellHook";
        mkHfSymlinks = withPkgs "mkHfSymlinks";
        mkModelWrapper = withPkgs "mkModelWrapper";
        # instantiate pkgs modelDefs → models (unpinned definitions become placeholders)
        instantiate = withPkgs "instantiate";
      };

      # The registry of model definitions (models/default.nix): plain fetchModel configs.
      inherit modelDefs;
      # The registry, instantiated: models.<system>.<org>.<name>; rawModels skip validation.
      models = forAllSystems (pkgs: (libFor pkgs).instantiate modelDefs);
      rawModels = forAllSystems (pkgs: (libFor pkgs).instantiateRaw modelDefs);

      nixosModules.default = { lib, pkgs, ... }: {
        imports = [ ./modules/nixos.nix ];
        services.model-repo.package = lib.mkDefault self.packages.${systemOf pkgs}.default;
      };
      nixosModules.model-repo = self.nixosModules.default;

      homeManagerModules.default = { lib, pkgs, ... }: {
        imports = [ ./modules/home-manager.nix ];
        programs.model-repo.package = lib.mkDefault self.packages.${systemOf pkgs}.default;
      };
      homeManagerModules.model-repo = self.homeManagerModules.default;

      # pkgs.nix-model-repo (the CLI), pkgs.nixModelRepo (the library for this pkgs),
      # pkgs.fetchModel; and the original design's names for the same: fetchAiModel,
      # aiModelSources, aiModelValidation.
      overlays.default = final: prev: {
        nix-model-repo = final.callPackage ./package.nix { };
        nixModelRepo = import ./lib { pkgs = final; fetcher = final.nix-model-repo; };
        fetchModel = final.nixModelRepo.fetchModel;
        fetchAiModel = final.nixModelRepo.fetchModel;
        aiModelSources = final.nixModelRepo.sources;
        aiModelValidation = final.nixModelRepo.validation;
      };

      packages = forAllSystems (pkgs: rec {
        nix-model-repo = pkgs.callPackage ./package.nix { };
        default = nix-model-repo;
      });

      # For working on this repository: Node for the fetcher, and the CLI itself.
      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = [ pkgs.nodejs self.packages.${systemOf pkgs}.default ];
        };
      });

      checks = forAllSystems (pkgs: import ./test/integration/flake-checks.nix {
        inherit pkgs;
        nmr = libFor pkgs;
        package = self.packages.${systemOf pkgs}.default;
      });
    };
}
