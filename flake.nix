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

      # What needs pkgs takes it first, as fetchModel does: fetchModel pkgs { ... },
      # fetchFromS3 pkgs { ... }, prefetchModel pkgs "hf:acme/tiny", mkShellHook pkgs { ... }.
      withPkgs = name: pkgs:
        if builtins.isString pkgs || builtins.isPath pkgs || (builtins.isAttrs pkgs && !(pkgs ? stdenv)) then
          throw "nix-model-repo.lib.${name} takes pkgs first, as fetchModel does: nix-model-repo.lib.${name} pkgs ..."
        else (libFor pkgs).${name};
      withoutPkgs = import ./lib/without-pkgs.nix;
      # The library's other names, read without evaluating anything (no pkgs needed here).
      pkgsFirstNames = builtins.filter (name: !(withoutPkgs ? ${name}) && name != "integration" && name != "fetcher")
        (builtins.attrNames (import ./lib { pkgs = null; }));
    in
    {
      lib = withoutPkgs
        // builtins.listToAttrs (map (name: { inherit name; value = withPkgs name; }) pkgsFirstNames)
        // {
          # It needs no pkgs; both of the original design's forms work:
          # prefetchModel "hf:acme/tiny" (§6.3) and prefetchModel pkgs "hf:acme/tiny" (§17.1).
          prefetchModel = arg: if builtins.isAttrs arg && arg ? stdenv then withoutPkgs.prefetchModel else withoutPkgs.prefetchModel arg;
          integration = builtins.listToAttrs (map (name: { inherit name; value = pkgs: (libFor pkgs).integration.${name}; }) integrationNames);
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
