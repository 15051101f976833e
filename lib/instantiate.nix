# instantiate: model definitions (plain fetchModel configs, such as the flake's
# modelDefs) → models, keeping the nesting (instantiateRaw: their phase-1 derivations):
#
#   instantiate { acme.tiny = { source.huggingface.repo = "acme/tiny"; hash = "sha256-..."; }; }
#   # → { acme.tiny = <fetchModel result named "tiny">; }
#
# A definition is an attribute set with `source`. One whose hash is null has never been
# prefetched (the registry ships no hash it could not verify): it becomes a placeholder
# marked `unpinned = true` and `meta.broken = true`, which tools can filter out, and
# building it fails with fetchModel's message for a missing hash, which names the exact
# `nix-model-repo prefetch` command to run. Nothing is fetched for it.
{ fetchModel }:
let
  inherit (builtins) isAttrs mapAttrs concatStringsSep;

  isDefinition = v: isAttrs v && v ? source;

  # The name is fetchModel's default (from the source) unless the definition sets one:
  # that is also the name `nix-model-repo prefetch` adds the model under.
  instantiateOne = path: attrName: def:
    if (def.hash or null) != null then fetchModel def
    else {
      type = "derivation";
      name = "${def.name or attrName}-unpinned";
      unpinned = true;
      definition = def;
      # The same error fetchModel gives for a missing hash: it shows the prefetch command.
      drvPath = (fetchModel def).drvPath;
      outPath = (fetchModel def).outPath;
      meta = (def.meta or { }) // {
        broken = true;
        description = "${concatStringsSep "." path} has no hash yet; prefetch it and set hash to build it";
      };
    };

  walk = path: defs:
    mapAttrs
      (attrName: value:
        if isDefinition value then instantiateOne (path ++ [ attrName ]) attrName value
        else if isAttrs value && (value.type or null) != "derivation" then walk (path ++ [ attrName ]) value
        else value)
      defs;

  # The same tree with each model replaced by f model.
  mapModels = f: tree:
    mapAttrs (_: value: if (value.type or null) == "derivation" then f value else if isAttrs value then mapModels f value else value) tree;

  instantiate = defs: walk [ ] defs;
in
{
  inherit instantiate;
  # The phase-1 fixed-output derivations (passthru.raw): no validation phase.
  instantiateRaw = defs: mapModels (model: model.raw or model) (instantiate defs);
}
