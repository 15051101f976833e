# What every integration helper needs to know about one model, from whatever the user
# hands it:
#
#   - a fetchModel result (phase 1 or validated): read from its passthru.integration;
#   - a record, as the original design wrote them:
#       { drv = model; org = "meta-llama"; model = "Llama-2-7b-hf"; }   # override the folder
#       { path = ./my-hub-folder; org = "acme"; model = "tiny"; }        # any HF-layout directory
#       { path = ollamaOutput; layout = "ollama"; }
#       { path = model; name = "tiny"; envVar = "TINY_PATH"; }          # exported as TINY_PATH
#
# → { name; path; layout; folder; org; model; repoType; repoId; revision; environment; }
#   `path` is the model itself (a derivation or a path; interpolating it gives the store
#   path with its context); `folder` is its Hub cache folder, or null when it takes no
#   part in Hub caches (Ollama layout, or integration.huggingface.enable = false).
{ utils, integrationConfig }:
let
  inherit (builtins) isAttrs isString isPath replaceStrings mapAttrs elem;
  ctx = "nix-model-repo integration";

  isDerivation = v: isAttrs v && (v.type or null) == "derivation";

  # A fetchModel result carries its resolved integration settings in passthru.
  integrationOf = drv: drv.passthru.integration or drv.integration or null;

  example = ''models = [ (fetchModel { ... }) { path = ./hub-folder; org = "acme"; model = "tiny"; } ];'';

  # $out in integration.environment values stands for the model's store path.
  substituteOut = path: environment: mapAttrs (_: value: replaceStrings [ "$out" ] [ "${path}" ] value) environment;

  fromFetchModel = drv: i: {
    name = drv.passthru.spec.name or drv.name;
    path = drv;
    inherit (i) layout;
    folder = if i.layout == "huggingface" && i.huggingface.enable then i.huggingface.folder else null;
    revision = i.huggingface.revision;
    repoId = i.huggingface.repoId;
    inherit (i.huggingface) org model repoType;
    environment = substituteOut drv i.environment;
  };

  recordKeys = [ "drv" "path" "org" "model" "repoType" "layout" "revision" "environment" "name" "envVar" ];

  fromRecord = record:
    let
      r = utils.checkKnownAttrs ctx "model entry " recordKeys record;
      # A path literal is copied into the store, so builders can read it.
      given = r.drv or r.path;
      path = if isPath given then "${given}" else given;
      base =
        if isDerivation path && integrationOf path != null then fromFetchModel path (integrationOf path)
        else {
          name = r.name or (if isDerivation given then given.name else baseNameOf (toString given));
          inherit path;
          layout = "huggingface";
          folder = null;
          revision = null;
          repoId = null;
          org = null;
          model = null;
          repoType = "model";
          environment = { };
        };
      layout = utils.expect ctx "layout" "\"huggingface\" or \"ollama\"" "\"ollama\"" (v: elem v [ "huggingface" "ollama" ]) (r.layout or base.layout);
      # The folder from the record's own names, else the fetchModel result's.
      named = r ? org || r ? model || r ? repoType;
      org = utils.expect ctx "org" "null or a Hub name (letters, digits, _ - .; no \"--\")" "\"acme\""
        (v: v == null || integrationConfig.isRepoIdPart v) (r.org or base.org);
      model = if !(r ? model) && base.model == null then null
        else utils.expect ctx "model" "a Hub name (letters, digits, _ - .; no \"--\")" "\"tiny\"" integrationConfig.isRepoIdPart (r.model or base.model);
      repoType = utils.expect ctx "repoType" "one of \"model\", \"dataset\", \"space\"" "\"dataset\"" (v: elem v [ "model" "dataset" "space" ]) (r.repoType or base.repoType);
      # The original design's { path; name; envVar; }: the variable holds the model's path.
      envVar = if r ? envVar then utils.expect ctx "envVar" "an environment variable name" "\"TINY_PATH\"" utils.isEnvVarName r.envVar else null;
      exported = if envVar == null then { } else { ${envVar} = "${path}"; };
      noFolder = utils.fail ctx "the entry for ${toString base.name} names no Hub folder: give it model = \"name\"; (and org = \"org\";), or envVar = \"NAME\"; to only export its path. Example: ${example}";
    in
    base // {
      inherit layout;
      name = r.name or base.name;
      folder =
        if layout != "huggingface" then null
        else if named && model != null then integrationConfig.folderName repoType org model
        else if !named && base.folder != null then base.folder
        # Only exported through its variable: it takes no part in Hub caches.
        else if !named && envVar != null then null
        else noFolder;
      repoId = if named then (if org == null then model else "${org}/${model}") else base.repoId;
      inherit org model repoType;
      revision = r.revision or base.revision;
      environment = base.environment // exported // substituteOut path (utils.expect ctx "environment" "an attribute set of strings" "{ MY_MODEL = \"$out\"; }" isAttrs (r.environment or { }));
    };
in
entry:
if isDerivation entry then
  let i = integrationOf entry; in
  if i != null then fromFetchModel entry i
  else utils.fail ctx "${entry.name or "a derivation"} is not a fetchModel result, so its Hub folder is unknown. Pass it as a record: { drv = ...; org = \"acme\"; model = \"tiny\"; }. Example: ${example}"
else if isAttrs entry && (entry ? drv || entry ? path) then fromRecord entry
else if isPath entry || isString entry then
  utils.fail ctx "${toString entry} is a bare path, so its Hub folder is unknown. Pass it as a record: { path = ...; org = \"acme\"; model = \"tiny\"; }. Example: ${example}"
else utils.fail ctx "a model must be a fetchModel result or a record { drv | path; org; model; ... }, but it is ${utils.describeValue entry}. Example: ${example}"
