# mkHfHub: a Hugging Face Hub cache directory (what HF_HUB_CACHE points at) holding
# models and datasets from the store:
#
#   hub = mkHfHub { models = [ tiny bert ]; datasets = [ squad ]; };
#   # $hub/models--acme--tiny -> /nix/store/...-tiny
#   # HF_HUB_CACHE=$hub HF_HUB_OFFLINE=1 python -c 'AutoModel.from_pretrained("acme/tiny")'
#
# `models` and `datasets` are lists (or attribute sets) of fetchModel results or records
# ({ drv | path; org; model; }, see describeModel.nix); a dataset's folder comes from its
# source's repoType, `datasets` only changes the default for records. Models with
# integration.huggingface.enable = false are left out. Nothing is copied: each folder is a
# symlink to its model, or, when several models share a folder (two revisions of a repo),
# a merge of symlinks. The result's passthru lists `folders` and `models`.
{ surface, describeModel, shell }:
let
  inherit (builtins) isList isAttrs attrValues filter map concatStringsSep concatMap length head foldl';
  ctx = "mkHfHub";

  toList = what: v:
    if isList v then v
    else if isAttrs v && (v.type or null) != "derivation" && !(v ? drv || v ? path) then attrValues v
    else throw "${ctx}: ${what} must be a list (or an attribute set) of models, e.g. ${what} = [ tiny ];";

  asDataset = entry: if isAttrs entry && (entry ? drv || entry ? path) && !(entry ? repoType) then entry // { repoType = "dataset"; } else entry;

  # Folders in first-seen order, each with the models that fill it.
  groupByFolder = entries:
    foldl'
      (acc: e:
        if acc.byFolder ? ${e.folder}
        then acc // { byFolder = acc.byFolder // { ${e.folder} = acc.byFolder.${e.folder} ++ [ e ]; }; }
        else { order = acc.order ++ [ e.folder ]; byFolder = acc.byFolder // { ${e.folder} = [ e ]; }; })
      { order = [ ]; byFolder = { }; }
      entries;
in
{ models ? [ ], datasets ? [ ], name ? "hf-hub" }:
let
  described = map describeModel (toList "models" models ++ map asDataset (toList "datasets" datasets));
  ollama = filter (e: e.layout == "ollama") described;
  entries = filter (e: e.layout == "huggingface" && e.folder != null) described;
  grouped = groupByFolder entries;

  folderCommand = folder:
    let group = grouped.byFolder.${folder}; in
    if length group == 1 then "nmr_link_folder ${shell.escapeShellArg folder} ${shell.escapeShellArg (head group).path}"
    else "nmr_merge_folder ${shell.escapeShellArg folder} ${concatStringsSep " " (concatMap (e: [
      (shell.escapeShellArg (if e.revision == null then "" else e.revision))
      (shell.escapeShellArg e.path)
    ]) group)}";
in
if ollama != [ ] then
  throw "${ctx}: ${(head ollama).name} has the Ollama layout and cannot go in a Hub cache; put it in mkOllamaModels { models = [ ... ]; } (OLLAMA_MODELS) instead."
else
  surface.runCommandLocal name
    {
      passthru = {
        folders = grouped.order;
        models = entries;
      };
    }
    ''
      source ${./hub-builder.sh}
      mkdir -p "$out"
      ${concatStringsSep "\n" (map folderCommand grouped.order)}
    ''
