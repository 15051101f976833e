# mkHfCachePath: where a repo lives in a Hugging Face Hub cache, named as huggingface_hub
# names it (repo_folder_name: "<type>s--<org>--<name>"):
#
#   mkHfCachePath "acme/tiny"                     # → "models--acme--tiny"
#   mkHfCachePath { repo = "acme/squad"; repoType = "dataset"; cacheDir = "/var/cache/hf/hub"; }
#   # → "/var/cache/hf/hub/datasets--acme--squad"
#   mkHfCachePath tiny                            # a fetchModel result: its folder, honouring
#                                                 # integration.huggingface
{ utils, integrationConfig, describeModel }:
let
  inherit (builtins) isString isAttrs filter split length head elemAt elem;
  ctx = "mkHfCachePath";
  example = ''mkHfCachePath "acme/tiny" or mkHfCachePath { repo = "acme/tiny"; cacheDir = "/var/cache/hf/hub"; }'';

  folderOfRepo = repo: repoType:
    let
      parts = filter isString (split "/" (utils.expect ctx "repo" "a Hub repo id \"org/name\"" "\"acme/tiny\"" isString repo));
      valid = (length parts == 1 || length parts == 2) && builtins.all integrationConfig.isRepoIdPart parts;
    in
    if !valid then utils.fail ctx "repo must be a Hub repo id \"org/name\" (letters, digits, - _ .; no \"--\"), but it is ${utils.describeValue repo}. Example: ${example}"
    else integrationConfig.folderName repoType (if length parts == 2 then head parts else null) (elemAt parts (length parts - 1));

  folderOfModel = model:
    let d = describeModel model;
    in if d.folder != null then d.folder else utils.fail ctx "${d.name} has no Hub cache folder (an Ollama model, or integration.huggingface.enable = false).";
in
arg:
if isString arg then folderOfRepo arg "model"
else if isAttrs arg && (arg.type or null) == "derivation" then folderOfModel arg
else
  let
    a = utils.checkKnownAttrs ctx "" [ "repo" "repoType" "cacheDir" ] (utils.expect ctx "the argument" "a repo id, a fetchModel result or { repo; repoType ? \"model\"; cacheDir ? null; }" example isAttrs arg);
    repoType = utils.expect ctx "repoType" "one of \"model\", \"dataset\", \"space\"" "\"dataset\"" (v: elem v [ "model" "dataset" "space" ]) (a.repoType or "model");
    folder = folderOfRepo (a.repo or (utils.fail ctx "repo is missing. Example: ${example}")) repoType;
    cacheDir = a.cacheDir or null;
  in
  if cacheDir == null then folder else "${toString cacheDir}/${folder}"
