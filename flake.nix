{
  description = "Machine-learning models in the Nix store, fetched reproducibly, checked and wired for Hugging Face and Ollama";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      forAllSystems = f: builtins.listToAttrs (map (system: { name = system; value = f nixpkgs.legacyPackages.${system}; }) systems);

      # The library for a package set, built with this flake's fetcher package.
      libFor = pkgs: import ./lib {
        inherit pkgs;
        fetcher = self.packages.${pkgs.stdenv.hostPlatform.system}.default or null;
      };
    in
    {
      lib = {
        # fetchModel pkgs { name; source; hash; ... }
        fetchModel = pkgs: (libFor pkgs).fetchModel;
        fetchFromHuggingFace = pkgs: (libFor pkgs).fetchFromHuggingFace;
      };

      packages = forAllSystems (pkgs: rec {
        nix-model-repo = pkgs.callPackage ./package.nix { };
        default = nix-model-repo;
      });
    };
}
