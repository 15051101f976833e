# prefetchModel: what can be known about a model's hash at evaluation time. Nix cannot
# download during evaluation (a fixed-output hash must be known before the build), so it
# gives the two ways to learn the hash:
#
#   (prefetchModel "hf:acme/tiny@main").command
#   # "nix-model-repo prefetch hf:acme/tiny@main": downloads once, prints the hash and a
#   # fetchModel expression, and adds the download at the path the build will look for
#
#   fetchModel { ...; hash = (prefetchModel { source = ...; }).fakeHash; }
#   # the build fails with Nix's "specified: ... got: sha256-..."; the "got" hash is it
#
# It takes a fetchModel configuration (name, source; the rest is ignored) or a target as
# parseModelSpec reads it. Interpolating the result gives the command.
{ utils, modelSource, parseModelSpec }:
let
  inherit (builtins) isString isAttrs concatStringsSep;
  ctx = "prefetchModel";
  q = utils.escapeShellArg;

  # A target as the user wrote it, with parseModelSpec's options as the CLI's flags.
  fromTarget = spec:
    let
      given = if isString spec then { target = spec; } else spec;
      parsed = parseModelSpec spec;
      flag = name: option: if (given.${name} or null) == null then [ ] else [ "${option} ${q given.${name}}" ];
    in
    {
      inherit (parsed) name;
      command = concatStringsSep " " ([ "nix-model-repo prefetch" (q given.target) ]
        ++ map (f: "--files ${q f}") (if (given.files or null) == null then [ ] else given.files)
        ++ flag "endpoint" "--endpoint" ++ flag "repoType" "--repo-type" ++ flag "region" "--region"
        ++ (if given.unpack or false then [ "--unpack" ] else [ ]));
    };

  # A fetchModel configuration: the command its missing-hash error shows.
  fromConfig = config:
    let
      picked = modelSource.pick ctx (config.source or (utils.fail ctx "source is missing. Example: ${modelSource.exampleSource}"));
      sourceSpec = picked.adapter.toSpec picked.config;
      name = utils.expect ctx "name" "a store name (letters, digits, + - . _ ? =)" "\"tiny\"" utils.isStoreName (config.name or (picked.adapter.defaultName sourceSpec));
    in
    { inherit name; command = modelSource.prefetchCommand name sourceSpec picked.adapter; };
in
spec:
let
  found =
    if isString spec || (isAttrs spec && spec ? target) then fromTarget spec
    else fromConfig (utils.expect ctx "the argument" "a fetchModel configuration or a target" ''"hf:acme/tiny@main"'' isAttrs spec);
in
{
  inherit (found) name command;
  inherit (modelSource) fakeHash;
  # The fixed-output derivation's name: prefetch adds the download under it.
  rawName = (import ./store-names.nix).raw found.name;
  howTo = ''
    Run ${found.command}
    It prints the hash and a fetchModel expression to paste, and adds the download to the store,
    so the first build does not download again. Or set hash = "${modelSource.fakeHash}";
    build, and copy the hash after "got:" from the error.'';
  __toString = self: self.command;
}
