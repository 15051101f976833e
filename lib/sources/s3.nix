# source.s3: every object under a prefix of an S3 bucket, on AWS or an S3-compatible
# server (MinIO, Ceph RGW, Cloudflare R2). docs/sources/s3.md.
#
#   source.s3 = {
#     bucket = "models";
#     prefix = "llama/7b";           # a folder of keys; "" (or null) = the whole bucket
#     region = null;                 # null = $AWS_REGION, else $AWS_DEFAULT_REGION, else us-east-1
#     files = [ "*.json" "*.safetensors" ];  # fnmatch over paths under the prefix; null = all
#     endpoint = null;               # an S3-compatible server; null = $AWS_ENDPOINT_URL_S3 / $AWS_ENDPOINT_URL, else AWS
#   };
#
# Credentials come from the builder's environment (the AWS credential chain), never from
# here; a bucket without credentials is read anonymously (public buckets).
{ utils }:
let
  inherit (builtins) match concatStringsSep filter split isString stringLength substring all length elemAt;
  ctx = "fetchModel";
  opt = name: "source.s3.${name}";

  isBucket = v: isString v && match "[A-Za-z0-9][A-Za-z0-9._-]{1,254}" v != null;
  segments = s: filter isString (split "/" s);
  # A folder of keys: no leading "/", no empty (except one trailing "/"), "." or ".." segment.
  isPrefix = v: isString v && (v == "" || (
    let
      trimmed = if match ".*/" v != null then substring 0 (stringLength v - 1) v else v;
    in
    match "/.*" v == null && all (seg: seg != "" && seg != "." && seg != "..") (segments trimmed)));
  isRegion = v: v == null || (isString v && match "[a-z0-9-]{1,64}" v != null);
  isEndpoint = v: v == null || utils.isHttpUrl v;

  # The fetcher reads "models/tiny" and "models/tiny/" as the same folder; the spec holds
  # the normalised form so both spellings give the same derivation. The whole bucket is
  # null there (spec strings are never empty).
  normalisePrefix = p: if p == "" then null else if match ".*/" p != null then p else "${p}/";

  prefixOf = spec: if spec.prefix == null then "" else spec.prefix;

  lastFolder = spec:
    let parts = filter (s: s != "") (segments (prefixOf spec));
    in if parts == [ ] then spec.bucket else elemAt parts (length parts - 1);

  # A Hub repo-id part (integration.huggingface.model), when the folder's name is one.
  hubName = s: if utils.isHubRepoIdPart s then s else null;

in
rec {
  known = [ "bucket" "prefix" "region" "files" "endpoint" ];

  toSpec = cfg:
    let c = utils.checkKnownAttrs ctx "source.s3." known cfg;
    in
    {
      type = "s3";
      bucket = utils.expect ctx (opt "bucket") "a bucket name (letters, digits, . _ -; no \"/\")" "\"models\"" isBucket (c.bucket or null);
      prefix = normalisePrefix (utils.expect ctx (opt "prefix") "a folder of keys (no leading \"/\", no empty, \".\" or \"..\" segments; \"\" for the whole bucket)" "\"llama/7b\"" isPrefix (if (c.prefix or null) == null && c ? prefix then "" else c.prefix or null));
      region = utils.expect ctx (opt "region") "null or a region name" "\"eu-west-1\"" isRegion (c.region or null);
      files = utils.expect ctx (opt "files") "null or a list of patterns" "[ \"*.json\" \"*.safetensors\" ]" utils.isStringListOrNull (c.files or null);
      endpoint = utils.expect ctx (opt "endpoint") "null or an http(s) URL without credentials" "\"https://minio.example:9000\"" isEndpoint (c.endpoint or null);
    };

  # The AWS credential chain's variables. HOME is /homeless-shelter in builds, so ~/.aws is
  # only read through AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE.
  impureEnvVars = [
    "AWS_ACCESS_KEY_ID" "AWS_SECRET_ACCESS_KEY" "AWS_SESSION_TOKEN" "AWS_PROFILE"
    "AWS_REGION" "AWS_DEFAULT_REGION" "AWS_CONFIG_FILE" "AWS_SHARED_CREDENTIALS_FILE"
    "AWS_ENDPOINT_URL" "AWS_ENDPOINT_URL_S3"
  ];

  defaultName = spec: utils.sanitizeName (lastFolder spec);

  prefetchCommand = spec:
    concatStringsSep " " ([ "nix-model-repo prefetch" (utils.escapeShellArg "s3://${spec.bucket}/${prefixOf spec}") ]
      ++ map (f: "--files ${utils.escapeShellArg f}") (if spec.files == null then [ ] else spec.files)
      ++ (if spec.region == null then [ ] else [ "--region ${utils.escapeShellArg spec.region}" ])
      ++ (if spec.endpoint == null then [ ] else [ "--endpoint ${utils.escapeShellArg spec.endpoint}" ]));

  # The `s3://` prefetch target (src/sources/s3/prefetch-target.ts), for parseModelSpec.
  prefixes = [ "s3" ];
  targetExample = "s3://bucket/prefix";
  parseTarget = rest: flags:
    let
      m = match "//([^/]+)(/(.*))?" rest;
      written = if m == null || builtins.elemAt m 2 == null then "" else builtins.elemAt m 2;
    in
    if m == null then utils.fail "parseModelSpec" "cannot read the S3 target 's3:${rest}'. Write it as s3://bucket/prefix, e.g. s3://models/llama/7b."
    else
      { bucket = builtins.head m; prefix = if written == "" || match ".*/" written != null then written else "${written}/"; }
      // (if flags.region == null then { } else { inherit (flags) region; })
      // (if flags.files == null then { } else { inherit (flags) files; })
      // (if flags.endpoint == null then { } else { inherit (flags) endpoint; });

  info = spec: {
    inherit (spec) bucket;
    prefix = prefixOf spec;
    org = null;
    repoType = "model";
  } // (let model = hubName (lastFolder spec); in if model == null then { } else { inherit model; });
}
