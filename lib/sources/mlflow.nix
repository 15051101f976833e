# source.mlflow: the artifacts of a registered model version on an MLflow tracking
# server (docs/sources/mlflow.md). Exactly one of modelVersion, modelStage, modelAlias:
#
#   source.mlflow = {
#     trackingUri = "https://mlflow.example";
#     modelName = "churn";
#     modelVersion = 3;              # or "latest"; or instead:
#     # modelStage = "Production";   # a stage (moving: the version it resolved to is recorded)
#     # modelAlias = "champion";     # an alias (MLflow >= 2.3; moving, recorded too)
#   };
#
# Credentials come from the builder's environment (MLFLOW_TRACKING_USERNAME/PASSWORD or
# MLFLOW_TRACKING_TOKEN) or auth.tokenFile, never from here.
{ utils }:
let
  inherit (builtins) match concatStringsSep filter isString isInt length stringLength toString;
  ctx = "fetchModel";
  opt = name: "source.mlflow.${name}";
  selectors = [ "modelVersion" "modelStage" "modelAlias" ];

  isModelName = v: isString v && v != "" && match ".*[/\n].*" v == null;
  # A registered version (int64, as MLflow stores it), or "latest" in any case, as MLflow's models:/ URIs take it.
  isVersion = v: v == null || (isInt v && v > 0) || (isString v && (match "[1-9][0-9]{0,18}" v != null || match "[Ll][Aa][Tt][Ee][Ss][Tt]" v != null));
  isStage = v: v == null || (isString v && v != "" && match ".*\n.*" v == null);
  isAlias = v: v == null || (isString v && v != "" && stringLength v <= 256 && match ".*[/\n].*" v == null);

  exampleSelector = ''modelVersion = 3; (or modelStage = "Production"; or modelAlias = "champion";)'';

  # The version as the spec holds it: a string, so 3 and "3" give the same derivation.
  versionString = v: if v == null then null else toString v;

  # A Hub repo-id part (integration.huggingface.model), when the model's name is one.
  hubName = s: if match "[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?" s != null && match ".*(--|\\.\\.).*" s == null && stringLength s <= 96 then s else null;


  # mlflow:NAME/VERSION, mlflow:NAME/STAGE, mlflow:NAME@ALIAS: MLflow's models:/ grammar.
  target = spec:
    if spec.modelAlias != null then "mlflow:${spec.modelName}@${spec.modelAlias}"
    else "mlflow:${spec.modelName}/${if spec.modelVersion != null then spec.modelVersion else spec.modelStage}";
in
rec {
  known = [ "trackingUri" "modelName" ] ++ selectors;

  toSpec = cfg:
    let
      c = utils.checkKnownAttrs ctx "source.mlflow." known cfg;
      given = filter (n: (c.${n} or null) != null) selectors;
    in
    if length given != 1 then
      utils.fail ctx "source.mlflow needs exactly one of modelVersion, modelStage and modelAlias, but it has ${if given == [ ] then "none" else concatStringsSep " and " given}. Example: ${exampleSelector}"
    else
    {
      type = "mlflow";
      trackingUri = utils.expect ctx (opt "trackingUri") "an http(s) URL without credentials" "\"https://mlflow.example\"" utils.isHttpUrl (c.trackingUri or null);
      modelName = utils.expect ctx (opt "modelName") "a registered model name (no \"/\")" "\"churn\"" isModelName (c.modelName or null);
      modelVersion = versionString (utils.expect ctx (opt "modelVersion") "a version number (3 or \"3\") or \"latest\"" "3" isVersion (c.modelVersion or null));
      modelStage = utils.expect ctx (opt "modelStage") "a stage name" "\"Production\"" isStage (c.modelStage or null);
      modelAlias = utils.expect ctx (opt "modelAlias") "an alias (no \"/\", at most 256 bytes)" "\"champion\"" isAlias (c.modelAlias or null);
    };

  # Credentials, and for artifacts stored in S3 the AWS chain and MLflow's S3 endpoint.
  # MLFLOW_TRACKING_URI is not read in builds: trackingUri is part of the source.
  # MLFLOW_TRACKING_INSECURE_TLS is deliberately absent: TLS verification stays on.
  impureEnvVars = [
    "MLFLOW_TRACKING_USERNAME" "MLFLOW_TRACKING_PASSWORD" "MLFLOW_TRACKING_TOKEN"
    "MLFLOW_S3_ENDPOINT_URL"
    "AWS_ACCESS_KEY_ID" "AWS_SECRET_ACCESS_KEY" "AWS_SESSION_TOKEN" "AWS_PROFILE"
    "AWS_REGION" "AWS_DEFAULT_REGION" "AWS_CONFIG_FILE" "AWS_SHARED_CREDENTIALS_FILE"
    "AWS_ENDPOINT_URL" "AWS_ENDPOINT_URL_S3"
  ];

  defaultName = spec: utils.sanitizeName spec.modelName;

  prefetchCommand = spec: "nix-model-repo prefetch ${utils.escapeShellArg (target spec)} --endpoint ${utils.escapeShellArg spec.trackingUri}";

  # The `mlflow:` / `models:/` prefetch target (src/sources/mlflow/prefetch-target.ts), for
  # parseModelSpec: MLflow's own models:/ grammar. Digits are a version, "latest" the
  # highest version, any other word a stage; NAME@ALIAS an alias.
  prefixes = [ "mlflow" "models" ];
  targetExample = "mlflow:NAME/VERSION | mlflow:NAME/STAGE | mlflow:NAME@ALIAS";
  parseTarget = rest: flags:
    let
      target = builtins.head (match "/*(.*)" rest);
      slash = match "([^/]*)/(.*)" target;
      alias = match "(.+)@([^@]+)" target;
      pointer = builtins.elemAt slash 1;
      selector =
        if slash == null then (if alias == null then null else { modelName = builtins.head alias; modelAlias = builtins.elemAt alias 1; })
        else if builtins.head slash == "" || pointer == "" || match ".*/.*" pointer != null then null
        else if match "[0-9]+" pointer != null then { modelName = builtins.head slash; modelVersion = pointer; }
        else if utils.toLower pointer == "latest" then { modelName = builtins.head slash; modelVersion = "latest"; }
        else { modelName = builtins.head slash; modelStage = pointer; };
    in
    if selector == null then
      utils.fail "parseModelSpec" "cannot read the MLflow target '${target}'. Write it as mlflow:NAME/VERSION (mlflow:churn/3), mlflow:NAME/STAGE (mlflow:churn/Production), mlflow:NAME/latest or mlflow:NAME@ALIAS (mlflow:churn@champion)."
    else if flags.endpoint == null then
      utils.fail "parseModelSpec" "an MLflow target needs the tracking server: give it as endpoint, e.g. parseModelSpec { target = \"mlflow:${target}\"; endpoint = \"https://mlflow.example\"; }"
    else if flags.files != null then utils.fail "parseModelSpec" "files does not apply to MLflow models: a model version's artifacts are fetched whole."
    else { trackingUri = flags.endpoint; } // selector;

  info = spec: {
    inherit (spec) modelName modelVersion modelStage modelAlias;
    org = null;
    repoType = "model";
  } // (let model = hubName spec.modelName; in if model == null then { } else { inherit model; });
}
