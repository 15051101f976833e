# mkOllamaModels: an OLLAMA_MODELS directory holding Ollama models from the store.
#
#   dir = mkOllamaModels { models = [ llama ]; };
#   # OLLAMA_MODELS=$dir OLLAMA_NOPRUNE=1 ollama serve   →  `ollama run llama3.2:1b` offline
#
# `models` is a list (or attribute set) of fetchModel results with source.ollama, or
# records { path = ...; layout = "ollama"; }. The directory is read-only (it is in the
# store), so Ollama must not prune it: set OLLAMA_NOPRUNE=1 (mkEnvironment, mkShellHook,
# mkModelWrapper and the modules do). `ollama pull`/`rm` cannot write to it either.
{ surface, describeModel, shell }:
let
  inherit (builtins) isList isAttrs attrValues filter head concatStringsSep map;
  ctx = "mkOllamaModels";
  toList = v:
    if isList v then v
    else if isAttrs v && (v.type or null) != "derivation" && !(v ? drv || v ? path) then attrValues v
    else throw "${ctx}: models must be a list (or an attribute set) of models, e.g. models = [ llama ];";
in
{ models ? [ ], name ? "ollama-models" }:
let
  described = map describeModel (toList models);
  wrongLayout = filter (e: e.layout != "ollama") described;
in
if wrongLayout != [ ] then
  throw "${ctx}: ${(head wrongLayout).name} has the Hugging Face layout, not Ollama's; put it in mkHfHub { models = [ ... ]; } (HF_HUB_CACHE) instead."
else
  surface.runCommandLocal name { passthru.models = described; } ''
    source ${./ollama-builder.sh}
    mkdir -p "$out/manifests" "$out/blobs"
    ${concatStringsSep "\n" (map (e: "nmr_add_ollama_model ${shell.escapeShellArg e.path}") described)}
  ''
