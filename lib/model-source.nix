# The `source` option, as fetchModel, prefetchModel and parseModelSpec read it: exactly
# one attribute naming a known source type, and the `nix-model-repo prefetch` command that
# gives its hash.
{ utils, sources }:
let
  inherit (builtins) attrNames length head concatStringsSep isAttrs;

  exampleSource = ''source.huggingface = { repo = "acme/tiny"; };'';
  known = concatStringsSep ", " (attrNames sources);
in
{
  inherit exampleSource;

  # A valid SRI hash that matches nothing: a build with it fails with Nix's "got:" hash.
  fakeHash = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

  # pick "fetchModel" source → { type; adapter; config; }
  pick = ctx: source:
    let
      names = attrNames (utils.expect ctx "source" "an attribute set with one source" exampleSource isAttrs source);
      type = head names;
    in
    if length names != 1 then
      utils.fail ctx "source must name exactly one source, but it names ${if names == [ ] then "none" else concatStringsSep ", " names}. Example: ${exampleSource} Known sources: ${known}."
    else if !(sources ? ${type}) then
      utils.fail ctx "unknown source '${type}'.${utils.suggestion type (attrNames sources)} Known sources: ${known}."
    else { inherit type; adapter = sources.${type}; config = source.${type}; };

  # The prefetch command for a model named `name`. `--name` only when it differs from the
  # source's default: prefetch adds the download under <name>-raw, the path the build
  # looks for.
  prefetchCommand = name: sourceSpec: adapter:
    adapter.prefetchCommand sourceSpec + (if name == adapter.defaultName sourceSpec then "" else " --name ${name}");
}
