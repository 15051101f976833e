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
}
