# parseModelSpec: a model named the way `nix-model-repo prefetch` names it, as the
# start of a fetchModel call (the same grammar: test/nix-eval/model-specs.json is the
# table both this and the CLI's parser are tested against):
#
#   parseModelSpec "hf:acme/tiny@v1"
#   # → { name = "tiny"; source.huggingface = { repo = "acme/tiny"; revision = "v1"; }; }
#   fetchModel (parseModelSpec "ollama:llama3.2:1b" // { hash = "sha256-..."; })
#
#   parseModelSpec { target = "mlflow:churn/3"; endpoint = "https://mlflow.example"; }
#
# The attribute set form takes the CLI's options: files, endpoint, repoType, region,
# unpack. Targets: hf:org/name[@revision] (also huggingface:, hf:datasets/org/name),
# ollama:NAME, s3://bucket/prefix, mlflow:NAME/VERSION|STAGE, mlflow:NAME@ALIAS (also
# models:/...), url:https://..., git-lfs:URL@<commit>. Only the grammar is checked here;
# fetchModel checks the values.
{ utils, sources }:
let
  inherit (builtins) attrNames concatStringsSep filter head isString isAttrs isList match elemAt elem;
  ctx = "parseModelSpec";
  flagNames = [ "files" "endpoint" "repoType" "region" "unpack" ];
  types = filter (type: sources.${type} ? parseTarget) (attrNames sources);
  examples = concatStringsSep "\n  " (map (type: sources.${type}.targetExample) types);
  example = ''parseModelSpec "hf:acme/tiny@main" or parseModelSpec { target = "mlflow:churn/3"; endpoint = "https://mlflow.example"; }'';
in
spec:
let
  given =
    if isString spec then { target = spec; }
    else utils.checkKnownAttrs ctx "" ([ "target" ] ++ flagNames) (utils.expect ctx "the argument" "a target string or { target; files; endpoint; ... }" example isAttrs spec);
  target = utils.expect ctx "target" "a string such as \"hf:acme/tiny@main\"" "\"hf:acme/tiny@main\"" isString (given.target or null);
  # The prefix is what comes before the first ":".
  cut = match "([^:]*):(.*)" target;
  prefix = if cut == null then "" else head cut;
  matching = filter (type: elem prefix sources.${type}.prefixes) types;
  flags = {
    files = let files = given.files or null; in
      if files == null || files == [ ] then null
      else utils.expect ctx "files" "a list of patterns" "[ \"*.json\" ]" (f: isList f && builtins.all isString f) files;
    endpoint = utils.expect ctx "endpoint" "null or a URL" "\"https://mirror.example\"" (v: v == null || isString v) (given.endpoint or null);
    repoType = utils.expect ctx "repoType" "null or one of \"model\", \"dataset\", \"space\"" "\"dataset\"" (v: v == null || elem v [ "model" "dataset" "space" ]) (given.repoType or null);
    region = utils.expect ctx "region" "null or a region" "\"eu-west-1\"" (v: v == null || isString v) (given.region or null);
    unpack = utils.expect ctx "unpack" "true or false" "true" builtins.isBool (given.unpack or false);
  };
  type = head matching;
  adapter = sources.${type};
  value = adapter.parseTarget (elemAt cut 1) flags;
in
if matching == [ ] then
  utils.fail ctx "unknown target '${target}'. Targets look like:\n  ${examples}"
else {
  # fetchModel's default name for this source: the name `prefetch` adds the download under.
  name = adapter.defaultName value;
  source.${type} = value;
}
