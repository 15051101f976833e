# For users without flakes:
#   let nmr = import (fetchTarball "https://github.com/parthspatel/nix-model-repo/archive/main.tar.gz") { inherit pkgs; };
#   in nmr.fetchModel { ... }
{ pkgs ? import <nixpkgs> { }, fetcher ? null }:
let
  library = import ./lib { inherit pkgs fetcher; };
in
library // {
  # The CLI: `nix-build -A nix-model-repo`.
  nix-model-repo = library.fetcher;

  # The registry (models/default.nix) and its models for this pkgs: `nix-build -A models.openai-community.gpt2`.
  modelDefs = import ./models;
  models = library.instantiate (import ./models);

  # The modules, to import from a configuration without flakes:
  #   imports = [ (import nix-model-repo-src { }).modules.nixos ];
  modules = {
    nixos = ./modules/nixos.nix;
    home-manager = ./modules/home-manager.nix;
  };
}
