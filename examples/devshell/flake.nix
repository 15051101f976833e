{
  description = "A dev shell with two Hugging Face models ready offline";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    nix-model-repo.url = "github:parthspatel/nix-model-repo";
    nix-model-repo.inputs.nixpkgs.follows = "nixpkgs";
  };

  outputs = { self, nixpkgs, nix-model-repo }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      forAllSystems = f: builtins.listToAttrs (map (system: { name = system; value = f nixpkgs.legacyPackages.${system}; }) systems);
      systemOf = pkgs: pkgs.stdenv.hostPlatform.system;
    in
    {
      # The models, as packages: `nix build .#all-MiniLM-L6-v2` fetches (and checks) one.
      packages = forAllSystems (pkgs: builtins.mapAttrs (_: nix-model-repo.lib.fetchModel pkgs) (import ./models.nix));

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = [
            (pkgs.python3.withPackages (ps: [ ps.sentence-transformers ps.transformers ps.torch ]))
          ];
          # HF_HUB_CACHE → a Hub cache of both models, HF_HUB_OFFLINE=1, TRANSFORMERS_OFFLINE=1,
          # and GC roots under .nix-model-repo/ so `nix-collect-garbage` keeps them.
          shellHook = nix-model-repo.lib.mkShellHook pkgs {
            models = builtins.attrValues self.packages.${systemOf pkgs};
          };
        };
      });
    };
}
