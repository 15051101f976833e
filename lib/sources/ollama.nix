# source.ollama: a model from an Ollama registry (docs/sources/ollama.md).
#
#   source.ollama = {
#     model = "llama3.2:1b";        # as `ollama pull` takes it: [http(s)://][host/][namespace/]model[:tag]
#     endpoint = null;              # a mirror's URL to fetch from instead of the name's host
#   };
#
# The output is the Ollama layout: manifests/<host>/<namespace>/<model>/<tag> and
# blobs/sha256-<hex>, what `ollama pull` leaves in $OLLAMA_MODELS.
{ utils }:
let
  inherit (builtins) match elemAt concatStringsSep filter split isString length head tail stringLength;
  ctx = "fetchModel";
  opt = name: "source.ollama.${name}";

  defaults = { host = "registry.ollama.ai"; namespace = "library"; tag = "latest"; scheme = "https"; };

  # Ollama's ParseNameBare (types/model/name.go): the tag follows the last ":" when no "/"
  # comes after it; then model, namespace and host are cut from the right at "/"; the host
  # may carry "scheme://". A part promised by its separator but empty is invalid.
  missing = "!MISSING!";
  orMissing = s: if s == "" then missing else s;
  cutLast = sep: s:
    let cut = utils.splitLast sep s;
    in if cut == null then null else { before = orMissing cut.before; after = orMissing cut.after; };

  parseBare = s:
    let
      tagCut = match "(.*):([^:/]*)" s;
      rest = if tagCut == null then s else orMissing (elemAt tagCut 0);
      tag = if tagCut == null then null else orMissing (elemAt tagCut 1);
      modelCut = cutLast "/" rest;
      namespaceCut = if modelCut == null then null else cutLast "/" modelCut.before;
      hostPart = if namespaceCut == null then null else namespaceCut.before;
      # strings.Cut at the first "://": the host is what follows.
      schemeSplit = if hostPart == null then [ ] else filter isString (split "://" hostPart);
      hasScheme = length schemeSplit > 1;
    in
    {
      inherit tag;
      model = if modelCut == null then rest else modelCut.after;
      namespace = if modelCut == null then null else if namespaceCut == null then modelCut.before else namespaceCut.after;
      host = if hostPart == null then null else if hasScheme then orMissing (concatStringsSep "://" (tail schemeSplit)) else hostPart;
      scheme = if hasScheme then head schemeSplit else null;
    };

  withDefaults = bare: {
    host = if bare.host == null then defaults.host else bare.host;
    namespace = if bare.namespace == null then defaults.namespace else bare.namespace;
    inherit (bare) model;
    tag = if bare.tag == null then defaults.tag else bare.tag;
    scheme = if bare.scheme == null || bare.scheme == "" then defaults.scheme else bare.scheme;
  };

  # name.go isValidPart: first character alphanumeric or "_", then the part's alphabet and length.
  validPart = pattern: maxLength: v: v != null && match pattern v != null && stringLength v <= maxLength;
  partRules = {
    host = validPart "[A-Za-z0-9_][A-Za-z0-9_.:-]*" 350;
    namespace = validPart "[A-Za-z0-9_][A-Za-z0-9_-]*" 80;
    model = validPart "[A-Za-z0-9_][A-Za-z0-9_.-]*" 80;
    tag = validPart "[A-Za-z0-9_][A-Za-z0-9_.-]*" 80;
  };

  parseName = s: withDefaults (parseBare s);
  isModelName = v: isString v && v != "" && (
    let n = parseName v;
    in partRules.host n.host && partRules.namespace n.namespace && partRules.model n.model && partRules.tag n.tag
      && (n.scheme == "http" || n.scheme == "https"));

  isEndpoint = v: v == null || utils.isHttpUrl v;

in
rec {
  known = [ "model" "endpoint" ];

  toSpec = cfg:
    let c = utils.checkKnownAttrs ctx "source.ollama." known cfg;
    in
    {
      type = "ollama";
      model = utils.expect ctx (opt "model")
        "an Ollama model name as `ollama pull` takes it: [http(s)://][host/][namespace/]model[:tag] (parts: letters, digits, _ - . ; no dot in the namespace)"
        "\"llama3.2:1b\"" isModelName (c.model or null);
      endpoint = utils.expect ctx (opt "endpoint") "null or an http(s) registry URL without credentials" "\"http://localhost:5000\"" isEndpoint (c.endpoint or null);
    };

  # No standard variables: a registry token comes from auth.tokenEnvVar or auth.tokenFile.
  impureEnvVars = [ ];

  # "llama3.2-1b"; the same as `nix-model-repo prefetch ollama:...` chooses.
  defaultName = spec: let n = parseName spec.model; in "${n.model}-${n.tag}";

  prefetchCommand = spec:
    concatStringsSep " " ([ "nix-model-repo prefetch" (utils.escapeShellArg "ollama:${spec.model}") ]
      ++ (if spec.endpoint == null then [ ] else [ "--endpoint ${utils.escapeShellArg spec.endpoint}" ]));

  # The `ollama:` prefetch target (src/sources/ollama/prefetch-target.ts), for parseModelSpec.
  prefixes = [ "ollama" ];
  targetExample = "ollama:[http(s)://][host/][namespace/]model[:tag]";
  parseTarget = rest: flags:
    if !(isModelName rest) then
      utils.fail "parseModelSpec" "cannot read the Ollama target 'ollama:${rest}'. Write it as ollama pull takes it, e.g. ollama:llama3.2:1b or ollama:host:port/namespace/model:tag."
    else if flags.files != null then utils.fail "parseModelSpec" "files does not apply to Ollama models: a model is its manifest and every blob it lists; leave files out."
    else if flags.repoType != null then utils.fail "parseModelSpec" "repoType does not apply to Ollama models; leave it out."
    else { model = rest; } // (if flags.endpoint == null then { } else { inherit (flags) endpoint; });

  # What integration needs to place the model in an OLLAMA_MODELS directory and run it.
  info = spec:
    let
      n = parseName spec.model;
      # Ollama compares name parts case-insensitively (strings.EqualFold).
      sameAs = a: b: utils.toLower a == utils.toLower b;
    in
    {
      inherit (n) host namespace model tag;
      # registry.ollama.ai/library/llama3.2:1b
      name = "${n.host}/${n.namespace}/${n.model}:${n.tag}";
      # What `ollama run` / `ollama list` call it (name.go DisplayShortest): llama3.2:1b
      shortName =
        if !(sameAs n.host defaults.host) then "${n.host}/${n.namespace}/${n.model}:${n.tag}"
        else if !(sameAs n.namespace defaults.namespace) then "${n.namespace}/${n.model}:${n.tag}"
        else "${n.model}:${n.tag}";
      # Relative to the output (and to OLLAMA_MODELS).
      manifestPath = "manifests/${n.host}/${n.namespace}/${n.model}/${n.tag}";
    };
}
