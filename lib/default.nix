# The nix-model-repo library.
#
#   let nmr = import ./lib { inherit pkgs; }; in nmr.fetchModel { ... }
#
# `pkgs` is nixpkgs (or anything with the attributes lib/pkgs-surface.nix uses);
# `fetcher` overrides the fetcher package, e.g. with a locally built one.
{ pkgs, fetcher ? null }:
let
  utils = import ./utils.nix;
  surface = import ./pkgs-surface.nix { inherit pkgs fetcher; };
  sources = import ./sources { inherit utils; };
  fetchModel = import ./fetchModel.nix { inherit utils sources surface; };
  integration = import ./integration { inherit surface utils; };
  # The models of a lockfile (docs/lockfile.md), one fixed-output path per large file.
  fromLock = import ./lock/fromLock.nix { inherit utils sources surface; };

  # fetchModel with a flat argument set, in the style of nixpkgs' fetchFrom*: the
  # source's options beside fetchModel's own.
  #   fetchFromHuggingFace { repo = "acme/tiny"; files = [ "*.json" ]; hash = "sha256-..."; }
  #   fetchFromS3 { bucket = "models"; prefix = "tiny"; hash = "sha256-..."; }
  fetchFrom = type: args:
    let
      sourceKeys = sources.${type}.known;
      source = builtins.intersectAttrs (builtins.listToAttrs (map (k: { name = k; value = null; }) sourceKeys)) args;
    in
    fetchModel ((removeAttrs args sourceKeys) // { source.${type} = source; });
in
import ./without-pkgs.nix // {
  inherit fetchModel fromLock integration;

  # Integration helpers the original design lists at the top beside lib.integration.
  inherit (integration) mkShellHook mkHfSymlinks mkModelWrapper;

  # Model definitions (plain configs, e.g. modelDefs) → models; unpinned ones are placeholders.
  inherit (import ./instantiate.nix { inherit fetchModel; }) instantiate instantiateRaw;

  fetchFromHuggingFace = fetchFrom "huggingface";
  fetchFromS3 = fetchFrom "s3";
  fetchFromGitLfs = fetchFrom "git-lfs";
  fetchFromUrl = fetchFrom "url";
  fetchFromOllama = fetchFrom "ollama";
  fetchFromMlflow = fetchFrom "mlflow";
  fetchFromGitXet = fetchFrom "git-xet";

  # The fetcher package this library builds with.
  inherit (surface) fetcher;
}
