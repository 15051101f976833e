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
  validation = import ./validation { inherit utils; };
in
{
  inherit fetchModel integration;

  # Presets, built-in validators and mkValidator for fetchModel's `validation` (docs/validation.md).
  validation = { inherit (validation) presets validators mkValidator; };

  # The most used integration helper, at the top as the original design has it.
  inherit (integration) mkShellHook;

  # Model definitions (plain configs, e.g. modelDefs) → models; unpinned ones are placeholders.
  inherit (import ./instantiate.nix { inherit fetchModel; }) instantiate instantiateRaw;

  # Source factories (docs/sources/): sources.huggingface.org "acme" "tiny", sources.mkS3 {...}, ...
  sources = import ./sources/factories.nix { };

  # fetchModel with a flat Hugging Face argument set, in the style of nixpkgs' fetchFrom*:
  #   fetchFromHuggingFace { repo = "acme/tiny"; files = [ "*.json" ]; hash = "sha256-..."; }
  fetchFromHuggingFace = args:
    let
      sourceKeys = sources.huggingface.known;
      source = builtins.intersectAttrs (builtins.listToAttrs (map (k: { name = k; value = null; }) sourceKeys)) args;
    in
    fetchModel ((removeAttrs args sourceKeys) // { source.huggingface = source; });

  # The fetcher package this library builds with.
  inherit (surface) fetcher;
}
