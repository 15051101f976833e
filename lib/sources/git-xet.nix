# source.git-xet: one commit of a git repository whose LFS objects are stored in Xet (Hugging
# Face repos, or an LFS server that answers the Batch API's `xet` transfer).
# docs/sources/xet.md.
#
#   source.git-xet = {
#     url = "https://huggingface.co/acme/tiny";          # the https clone URL
#     rev = "0123456789abcdef0123456789abcdef01234567";  # a full commit id
#     files = [ "*.safetensors" ];                       # git lfs pull --include patterns; null = all
#     xet.endpoint = null;                               # the CAS; null = the one the LFS server names
#   };
#
# Git objects come as for source.git-lfs (same git, same credentials: auth.tokenFile /
# auth.tokenEnvVar); LFS objects through Xet when the server offers it (network.xet).
{ utils, gitLfs }:
let
  inherit (builtins) concatStringsSep isAttrs;
  ctx = "fetchModel";
  opt = name: "source.git-xet.${name}";
  isEndpoint = v: v == null || utils.isHttpUrl v;
in
{
  known = [ "url" "rev" "files" "xet" ];

  toSpec = cfg:
    let
      c = utils.checkKnownAttrs ctx "source.git-xet." [ "url" "rev" "files" "xet" ] cfg;
      repo = gitLfs.repoFields "git-xet" c;
      xet = utils.checkKnownAttrs ctx "source.git-xet.xet." [ "endpoint" ]
        (utils.expect ctx (opt "xet") "an attribute set { endpoint = ...; }" "{ endpoint = \"https://cas-server.xethub.hf.co\"; }" isAttrs (c.xet or { }));
    in
    {
      type = "git-xet";
      inherit (repo) url rev;
      files = utils.expect ctx (opt "files") "null or a list of git-lfs include patterns" "[ \"*.safetensors\" \"tokenizer/\" ]" utils.isStringListOrNull (c.files or null);
      xet.endpoint = utils.expect ctx (opt "xet.endpoint") "null or the http(s) URL of the Xet storage (CAS), without credentials, query or fragment" "\"https://cas-server.xethub.hf.co\"" isEndpoint (xet.endpoint or null);
    };

  # Xet can be turned off from the daemon's environment, as huggingface_hub's variable does.
  impureEnvVars = [ "HF_HUB_DISABLE_XET" ];

  inherit (gitLfs) builderEnv defaultName info;

  prefetchCommand = spec:
    concatStringsSep " " ([ "nix-model-repo prefetch" (utils.escapeShellArg "git-xet:${spec.url}@${spec.rev}") ]
      ++ map (f: "--files ${utils.escapeShellArg f}") (if spec.files == null then [ ] else spec.files)
      ++ (if spec.xet.endpoint == null then [ ] else [ "--endpoint ${utils.escapeShellArg spec.xet.endpoint}" ]));

  # The `git-xet:` prefetch target (src/sources/git-xet/prefetch-target.ts), for
  # parseModelSpec: git-xet:URL@<40-hex commit>.
  prefixes = [ "git-xet" ];
  targetExample = "git-xet:https://host/org/repo.git@<40-hex commit>";
  parseTarget = rest: flags:
    gitLfs.parseRepoTarget "git-xet" rest
    // (if flags.files == null then { } else { inherit (flags) files; })
    // (if flags.endpoint == null then { } else { xet.endpoint = flags.endpoint; });
}
