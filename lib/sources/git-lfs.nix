# source.git-lfs: one commit of a git repository whose large files are in Git LFS
# (GitHub, GitLab, Gitea, Hugging Face, a self-hosted LFS server). docs/sources/git-lfs.md.
#
#   source.git-lfs = {
#     url = "https://huggingface.co/acme/tiny";      # the https clone URL
#     rev = "0123456789abcdef0123456789abcdef01234567";  # a full commit id
#     lfsFiles = [ "*.safetensors" ];                # git lfs pull --include patterns; null = all
#   };
#
# The fetcher runs git (pkgs.git, passed as $NIX_MODEL_REPO_GIT) and the Git LFS Batch
# API; credentials come from auth.tokenFile / auth.tokenEnvVar ("token" or "user:token",
# sent as HTTP Basic to the clone URL's host only).
{ utils }:
let
  inherit (builtins) match concatStringsSep filter split isString length elemAt stringLength substring;
  ctx = "fetchModel";
  opt = name: "source.git-lfs.${name}";

  isCommit = v: isString v && match "[0-9a-f]{40}" v != null;

  # "https://host/org/repo.git" → [ "org" "repo" ]
  pathParts = url:
    let
      noScheme = elemAt (filter isString (split "://" url)) 1;
      parts = filter (s: s != "") (filter isString (split "/" noScheme));
      withoutHost = if length parts > 0 then builtins.tail parts else [ ];
    in
    map (s: if match ".*\\.git" s != null then substring 0 (stringLength s - 4) s else s) withoutHost;
  lastPart = spec: let p = pathParts spec.url; in if p == [ ] then "model" else elemAt p (length p - 1);
  # A Hub repo-id part (for integration.huggingface), when the URL's segment is one.
  hubName = s: if utils.isHubRepoIdPart s then s else null;

  # url and rev of a git source ("git-lfs", "git-xet"): the checks both share.
  repoFields = source: c:
    let
      at = name: "source.${source}.${name}";
      url = utils.expect ctx (at "url") "an http(s) clone URL without credentials (ssh is not available in a build)" "\"https://huggingface.co/acme/tiny\"" utils.isHttpUrl (c.url or null);
      rev = c.rev or null;
    in
    {
      inherit url;
      rev =
        if isCommit rev then rev
        else if isString rev && match "[0-9a-fA-F]{40}" rev != null then
          utils.fail ctx ''${at "rev"} must be written in lowercase hex: "${rev}".''
        else
          utils.fail ctx ''${at "rev"} must be a full 40-hex commit id, but it is ${utils.describeValue rev}. A branch or tag name can move, and a fixed-output derivation must name content that cannot: pin the commit. Find it with: git ls-remote ${url} ${if isString rev then rev else "main"}'';
    };

  # A `<scheme>:URL@<40-hex commit>` prefetch target → { url; rev; }.
  parseRepoTarget = scheme: rest:
    let
      at = utils.splitLast "@" rest;
      url = if at == null then rest else at.before;
      rev = if at == null then "" else at.after;
    in
    if url == "" || !(isCommit rev) then
      utils.fail "parseModelSpec" "cannot read the ${scheme} target '${scheme}:${rest}'. Write it as ${scheme}:https://host/org/repo.git@<commit>, with the full 40-hex commit id (git ls-remote https://host/org/repo.git main prints it)."
    else { inherit url rev; };
in
rec {
  inherit repoFields parseRepoTarget;

  known = [ "url" "rev" "lfsFiles" ];

  toSpec = cfg:
    let
      c = utils.checkKnownAttrs ctx "source.git-lfs." known cfg;
    in
    {
      type = "git-lfs";
      inherit (repoFields "git-lfs" c) url rev;
      lfsFiles = utils.expect ctx (opt "lfsFiles") "null or a list of git-lfs include patterns" "[ \"*.safetensors\" \"tokenizer/\" ]" utils.isStringListOrNull (c.lfsFiles or null);
    };

  # Credentials come from auth.tokenEnvVar (fetchModel adds it) or auth.tokenFile.
  impureEnvVars = [ ];

  # The builder has no PATH: the fetcher runs git by its store path.
  builderEnv = surface: { NIX_MODEL_REPO_GIT = surface.git; };

  defaultName = spec: utils.sanitizeName (lastPart spec);

  prefetchCommand = spec:
    concatStringsSep " " ([ "nix-model-repo prefetch" (utils.escapeShellArg "git-lfs:${spec.url}@${spec.rev}") ]
      ++ map (f: "--files ${utils.escapeShellArg f}") (if spec.lfsFiles == null then [ ] else spec.lfsFiles));

  # The `git-lfs:` prefetch target (src/sources/git-lfs/prefetch-target.ts), for
  # parseModelSpec: git-lfs:URL@<40-hex commit>.
  prefixes = [ "git-lfs" ];
  targetExample = "git-lfs:https://host/org/repo.git@<40-hex commit>";
  parseTarget = rest: flags:
    parseRepoTarget "git-lfs" rest // (if flags.files == null then { } else { lfsFiles = flags.files; });

  info = spec:
    let
      parts = pathParts spec.url;
      n = length parts;
      model = if n >= 1 then hubName (elemAt parts (n - 1)) else null;
      org = if n >= 2 then hubName (elemAt parts (n - 2)) else null;
    in
    {
      inherit (spec) url rev;
      commit = spec.rev;
      org = if model == null then null else org;
      repoType = "model";
    } // (if model == null then { } else { inherit model; });
}
