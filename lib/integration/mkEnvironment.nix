# mkEnvironment: the environment variables that make programs find models offline, and
# what must stay alive for them. mkShellHook, mkModelWrapper and the NixOS and Home
# Manager modules all build on it, so they export the same thing.
#
#   env = mkEnvironment { models = [ tiny llama ]; };
#   env.variables
#   # { HF_HUB_CACHE = "/nix/store/...-hf-hub"; HF_HUB_OFFLINE = "1"; TRANSFORMERS_OFFLINE = "1";
#   #   HF_DATASETS_OFFLINE = "1"; OLLAMA_MODELS = "/nix/store/...-ollama-models"; OLLAMA_NOPRUNE = "1"; }
#
# Hugging Face layout models go into one Hub cache (mkHfHub), Ollama models into one
# OLLAMA_MODELS directory (mkOllamaModels); each model's integration.environment is added
# ($out = the model). `hub`/`ollamaModels` replace the built directories (a derivation, or
# a path string such as a NixOS module's /var/cache link); false leaves them out (and
# their variables). `environment` is added last.
# `offline` sets HF_HUB_OFFLINE and friends: the store is read-only, and older
# huggingface_hub versions write into the cache even on a hit unless offline.
{ utils, describeModel, mkHfHub, mkOllamaModels }:
let
  inherit (builtins) isList isAttrs attrValues filter foldl' attrNames;
  ctx = "mkEnvironment";

  isDerivation = v: isAttrs v && (v.type or null) == "derivation";

  toList = v:
    if isList v then v
    else if isAttrs v && (v.type or null) != "derivation" && !(v ? drv || v ? path) then attrValues v
    else throw "${ctx}: models must be a list (or an attribute set) of models, e.g. models = [ tiny ];";

  # Per-model variables, refusing two models that set one variable to different values.
  mergeModelEnvironments = described:
    foldl'
      (acc: e:
        foldl'
          (inner: var:
            if inner ? ${var} && inner.${var} != e.environment.${var}
            then throw "${ctx}: two models set ${var} differently (integration.environment of ${e.name} and an earlier model); give one of them another variable name."
            else inner // { ${var} = e.environment.${var}; })
          acc
          (attrNames e.environment))
      { }
      described;
in
{ models ? [ ], hub ? null, ollamaModels ? null, offline ? true, environment ? { }, name ? "models" }:
let
  given = toList models;
  described = map describeModel given;
  layoutOf = m: (describeModel m).layout;
  hfModels = filter (m: let d = describeModel m; in d.layout == "huggingface" && d.folder != null) given;
  ollamaModelList = filter (m: layoutOf m == "ollama") given;

  builtHub = if hub == null && hfModels != [ ] then mkHfHub { models = hfModels; name = "${name}-hf-hub"; } else null;
  theHub = if hub == false then null else if hub != null then hub else builtHub;
  builtOllama = if ollamaModels == null && ollamaModelList != [ ] then mkOllamaModels { models = ollamaModelList; name = "${name}-ollama"; } else null;
  theOllama = if ollamaModels == false then null else if ollamaModels != null then ollamaModels else builtOllama;

  # What offline mode sets for the Hub's libraries; exported with the hub. The Home
  # Manager module, whose links go into the user's default cache (no HF_HUB_CACHE),
  # exports these on their own.
  offlineVariables = if offline then { HF_HUB_OFFLINE = "1"; TRANSFORMERS_OFFLINE = "1"; HF_DATASETS_OFFLINE = "1"; } else { };
  hubVariables = if theHub == null then { } else { HF_HUB_CACHE = "${theHub}"; } // offlineVariables;
  ollamaVariables = if theOllama == null then { } else
    { OLLAMA_MODELS = "${theOllama}"; OLLAMA_NOPRUNE = "1"; };

  # Models the built directories hold are kept alive through them; the others by themselves.
  placed = e: (builtHub != null && e.layout == "huggingface" && e.folder != null) || (builtOllama != null && e.layout == "ollama");
in
{
  variables = hubVariables // ollamaVariables // mergeModelEnvironments described
    // utils.expect ctx "environment" "an attribute set of strings" "{ MY_MODEL = \"/models/x\"; }" isAttrs environment;
  hub = theHub;
  ollamaModels = theOllama;
  inherit offlineVariables;
  models = described;
  # Store paths to root against garbage collection (GC roots, extraDependencies).
  roots = filter isDerivation [ theHub theOllama ]
    ++ map (e: e.path) (filter (e: !(placed e)) described);
}
