# source.huggingface: a repo on the Hugging Face Hub (or a mirror of it).
#
#   source.huggingface = {
#     repo = "acme/tiny";            # org/name
#     revision = "main";             # branch, tag, "refs/pr/N" or commit
#     repoType = "model";            # model | dataset | space
#     files = [ "*.json" "*.safetensors" ];  # huggingface_hub allow_patterns; null = all
#     endpoint = null;               # a mirror; null = $HF_ENDPOINT, else huggingface.co
#   };
{ utils }:
let
  inherit (builtins) match elem concatStringsSep filter split isString;
  ctx = "fetchModel";
  opt = name: "source.huggingface.${name}";

  isRepoId = utils.isHubRepoId;
  # It becomes refs/<revision> in the output: every "/"-separated segment must be a plain name.
  isRevision = v: isString v && match ".*\\\\.*" v == null
    && builtins.all (seg: seg != "" && seg != "." && seg != "..") (filter isString (split "/" v));
  isEndpoint = v: v == null || utils.isHttpUrl v;

  lastSegment = s: let parts = filter isString (split "/" s); in builtins.elemAt parts (builtins.length parts - 1);
in
rec {
  known = [ "repo" "revision" "repoType" "files" "endpoint" ];

  # The spec's source object (docs/spec.md); defaults spelled out, so the spec is the
  # same whether or not the user wrote them, and `prefetch` computes the same hash.
  toSpec = cfg:
    let
      c = utils.checkKnownAttrs ctx "source.huggingface." known cfg;
    in
    {
      type = "huggingface";
      repo = utils.expect ctx (opt "repo") "a Hub repo id \"org/name\" (letters, digits, - _ .; each part starting and ending with a letter, digit or _, at most 96 characters; no \"--\" or \"..\"; not ending in \".git\")" "\"acme/tiny\"" isRepoId (c.repo or null);
      revision = utils.expect ctx (opt "revision") "a branch, tag, \"refs/pr/N\" or commit" "\"main\"" isRevision (c.revision or "main");
      repoType = utils.expect ctx (opt "repoType") "one of \"model\", \"dataset\", \"space\"" "\"model\"" (v: elem v [ "model" "dataset" "space" ]) (c.repoType or "model");
      files = utils.expect ctx (opt "files") "null or a list of patterns" "[ \"*.json\" \"*.safetensors\" ]" utils.isStringListOrNull (c.files or null);
      endpoint = utils.expect ctx (opt "endpoint") "null or an http(s) URL without credentials, query or fragment" "\"https://hf-mirror.example\"" isEndpoint (c.endpoint or null);
    };

  # Variables the builder may read: tokens, token file locations, the endpoint, and
  # HF_HUB_DISABLE_XET (network.xet = "auto" then stays off Xet; docs/sources/xet.md).
  impureEnvVars = [ "HF_TOKEN" "HUGGING_FACE_HUB_TOKEN" "HF_TOKEN_PATH" "HF_HOME" "HF_ENDPOINT" "HF_HUB_DISABLE_XET" ];

  defaultName = spec: utils.sanitizeName (lastSegment spec.repo);

  # How to get the hash, shown when it is missing.
  prefetchCommand = spec:
    concatStringsSep " " ([ "nix-model-repo prefetch" "hf:${if spec.repoType == "model" then "" else "${spec.repoType}s/"}${spec.repo}@${spec.revision}" ]
      ++ map (f: "--files ${utils.escapeShellArg f}") (if spec.files == null then [ ] else spec.files)
      ++ (if spec.endpoint == null then [ ] else [ "--endpoint ${utils.escapeShellArg spec.endpoint}" ]));

  # The `hf:` prefetch target (src/sources/huggingface/prefetch-target.ts), for
  # parseModelSpec: hf:org/name[@revision]; hf:datasets/org/name selects a dataset.
  prefixes = [ "hf" "huggingface" ];
  targetExample = "hf:org/name[@revision]";
  parseTarget = rest: flags:
    let
      at = utils.splitLast "@" rest;
      written = if at == null then rest else at.before;
      revision = if at == null then "main" else at.after;
      # "datasets/org/name", as the Hub's URLs write it; "datasets/name" is a repo id.
      typed = match "(dataset|space|model)s/(.*/.*)" written;
      repoType = if typed != null then builtins.head typed else if flags.repoType != null then flags.repoType else "model";
      repo = if typed != null then builtins.elemAt typed 1 else written;
    in
    if repo == "" || revision == "" then
      utils.fail "parseModelSpec" "cannot read the Hugging Face target 'hf:${rest}'. Write it as hf:org/name or hf:org/name@revision, e.g. hf:acme/tiny@main."
    else
      { inherit repo revision; }
      // (if repoType == "model" then { } else { inherit repoType; })
      // (if flags.files == null then { } else { inherit (flags) files; })
      // (if flags.endpoint == null then { } else { inherit (flags) endpoint; });

  # Facts known at evaluation time, for passthru and integration helpers.
  info = spec:
    let
      parts = filter isString (split "/" spec.repo);
      org = if builtins.length parts == 2 then builtins.head parts else null;
    in
    {
      inherit (spec) repo revision repoType;
      inherit org;
      model = lastSegment spec.repo;
      # The folder name huggingface_hub gives this repo in a Hub cache.
      hubCacheFolder = "${spec.repoType}s--${builtins.replaceStrings [ "/" ] [ "--" ] spec.repo}";
    };
}
