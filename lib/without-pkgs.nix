# The part of the library that needs no pkgs: plain data and functions of strings. The
# flake exports it as it is (nix-model-repo.lib.validators, .parseModelSpec, ...); lib/
# default.nix adds it to the functions that build.
let
  utils = import ./utils.nix;
  sources = import ./sources { inherit utils; };
  validation = import ./validation { inherit utils; };
  integrationConfig = import ./integration/config.nix { inherit utils; };
  describeModel = import ./integration/describeModel.nix { inherit utils integrationConfig; };
  modelSource = import ./model-source.nix { inherit utils sources; };
  parseModelSpec = import ./parse-model-spec.nix { inherit utils sources; };
in
{
  # Presets, built-in validators and mkValidator for fetchModel's `validation`
  # (docs/validation.md); validators and mkValidator also at the top, as the original
  # design lists them.
  validation = { inherit (validation) presets validators mkValidator; };
  inherit (validation) validators mkValidator;

  # Source factories (docs/sources/): sources.huggingface.org "acme" "tiny", sources.mkS3 {...}, ...
  sources = import ./sources/factories.nix { };

  # "hf:acme/tiny@main" → { name; source; }, the grammar of `nix-model-repo prefetch`.
  inherit parseModelSpec;

  # The prefetch command and the fake-hash route for a model (no download at evaluation).
  prefetchModel = import ./prefetch-model.nix { inherit utils modelSource parseModelSpec; };

  # "acme/tiny" → "models--acme--tiny", the folder huggingface_hub uses.
  mkHfCachePath = import ./integration/mkHfCachePath.nix { inherit utils integrationConfig describeModel; };
}
