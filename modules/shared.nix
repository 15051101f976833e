# What the NixOS and Home Manager modules have in common: the `package` and `models`
# options, and sorting the built models by the layout that decides where they go.
{ lib, pkgs }:
let
  inherit (lib) mkOption types literalExpression filterAttrs;
in
{
  packageOption = mkOption {
    type = types.package;
    default = pkgs.callPackage ../package.nix { };
    defaultText = literalExpression "pkgs.callPackage ./package.nix { } (the flake's module: its packages.default)";
    description = "The nix-model-repo fetcher package every model's fixed-output derivation runs.";
  };

  # `kept`: how the module keeps the models from garbage collection, for the description.
  modelsOption = kept: mkOption {
    type = types.attrsOf (types.attrsOf types.anything);
    default = { };
    description = ''
      Models to fetch, by name: each value is a `fetchModel` configuration (any source;
      `name` defaults to the attribute name). ${kept}
    '';
    example = literalExpression ''
      {
        tiny = { source.huggingface = { repo = "acme/tiny"; revision = "<commit>"; }; hash = "sha256-..."; };
        llama = { source.ollama.model = "llama3.2:1b"; hash = "sha256-..."; };
      }
    '';
  };

  # Built models by destination: a Hub cache folder, or the OLLAMA_MODELS directory.
  byLayout = describeModel: built: {
    hfModels = filterAttrs (_: m: let d = describeModel m; in d.layout == "huggingface" && d.folder != null) built;
    ollamaModels = filterAttrs (_: m: (describeModel m).layout == "ollama") built;
  };
}
