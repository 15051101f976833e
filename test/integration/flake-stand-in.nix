# Flakes evaluated without nixpkgs: `outputs` called with the stand-in pkgs as
# nixpkgs.legacyPackages, for this repository's flake and for the examples, which get it
# as their nix-model-repo input.
let
  systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
  standIn = system:
    let pkgs = import ../nix/pkgs.nix { inherit system; };
    in pkgs // {
      # For the example's dev shell: its Python is not what the tests look at.
      python3.withPackages = _: pkgs.runCommand "python3-stand-in" { } "mkdir $out";
    };
  nixpkgs = { legacyPackages = builtins.listToAttrs (map (system: { name = system; value = standIn system; }) systems); };

  evalFlake = dir: inputs:
    let
      flake = import (dir + "/flake.nix");
      self = flake.outputs ({ inherit self nixpkgs; } // inputs) // { outPath = dir; };
    in
    self;

  nix-model-repo = evalFlake ../.. { };
in
{
  inherit nixpkgs nix-model-repo;
  pkgs = nixpkgs.legacyPackages.${builtins.currentSystem};
  example = dir: evalFlake dir { inherit nix-model-repo; };
}
