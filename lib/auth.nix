# fetchModel's `auth` option. Only the *names* of secrets go into the derivation:
# the environment variable to read, or the path of a file read at build time. A Nix
# path literal would copy the token into the world-readable store, so it is refused.
{ utils }:
let
  ctx = "fetchModel";
in
auth:
let
  a = utils.checkKnownAttrs ctx "auth." [ "tokenEnvVar" "tokenFile" ] (utils.expect ctx "auth" "an attribute set" "{ tokenFile = \"/run/secrets/hf-token\"; }" builtins.isAttrs auth);
  tokenFile = a.tokenFile or null;
in
{
  tokenEnvVar = utils.expect ctx "auth.tokenEnvVar" "null or an environment variable name" "\"MY_HF_TOKEN\"" (v: v == null || utils.isEnvVarName v) (a.tokenEnvVar or null);
  tokenFile =
    if builtins.isPath tokenFile then
      utils.fail ctx ''auth.tokenFile must be a string, not the path ${toString tokenFile}: a path literal copies the token into the world-readable Nix store. Write it as a string: auth.tokenFile = "${toString tokenFile}";''
    else utils.expect ctx "auth.tokenFile" "null or an absolute path (a string)" "\"/run/secrets/hf-token\"" (v: v == null || (builtins.isString v && builtins.match "/.*" v != null)) tokenFile;
}
