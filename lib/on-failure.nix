# fetchModel's `onFailure` option, reduced to what can work inside a fixed-output
# derivation:
#   action = "clean"   Nix never keeps a failed build's output: the default, nothing to do.
#   action = "retry"   the fetcher starts the whole fetch over once more.
#   action = "persist" refused: Nix deletes a failed FOD's output, so nothing can persist
#                      (use `nix-build --keep-failed` to keep the build directory).
#   notify = script    run (with network, FODs have it) when the fetch fails for good.
{ utils }:
let
  ctx = "fetchModel";
in
onFailure:
let
  o = utils.checkKnownAttrs ctx "onFailure." [ "action" "notify" ] (utils.expect ctx "onFailure" "an attribute set" "{ action = \"retry\"; }" builtins.isAttrs onFailure);
  action = utils.expect ctx "onFailure.action" "one of \"clean\", \"retry\" (\"persist\" cannot work in a fixed-output derivation)" "\"retry\"" (v: builtins.elem v [ "clean" "retry" "persist" ]) (o.action or "clean");
  notify = o.notify or null;
in
if action == "persist" then
  utils.fail ctx ''onFailure.action = "persist" cannot work: Nix deletes the output of a failed fixed-output derivation before anything could resume from it. The fetcher already resumes interrupted files within a build (network.retry); to inspect a failed build, run nix-build with --keep-failed. Use onFailure.action = "clean" (the default) or "retry".''
else
{
  attempts = if action == "retry" then 2 else 1;
  notify =
    if notify == null then null
    else if builtins.isString notify || builtins.isPath notify || (builtins.isAttrs notify && notify ? outPath) then "${notify}"
    else utils.fail ctx ''onFailure.notify must be an executable, e.g. onFailure.notify = pkgs.writeShellScript "notify" "curl -d \"$NIX_MODEL_REPO_ERROR\" https://hooks.example/models";'';
}
