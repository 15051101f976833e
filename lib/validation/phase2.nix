# Phase 2 (docs/architecture.md, "Phases"): a normal derivation, without network, whose builder is the
# fetcher: `nix-model-repo validate` runs the validators on the raw output ($src) and
# writes $out as symlinks into it plus a meta file with the report. Its store size does
# not depend on the model's.
{ surface }:
# `linkRoots`: the store paths a locked model's raw output links into (lib/lock/), which
# the validators follow as if they were inside it.
{ name, raw, validation, linkRoots ? [ ] }:
let
  inherit (builtins) any concatStringsSep toJSON;

  # lib.makeBinPath: each package's `bin` output (jq's program is not in `out`).
  binPath = packages: concatStringsSep ":" (map (p: "${p.bin or p.out or p}/bin") packages);

  # The JSON `nix-model-repo validate --config` reads (src/validate/types.ts).
  toConfig = v:
    { inherit (v) name description onFailure onFailureFrom timeout timeoutFrom origin expr; }
    // (if v.command != null then {
      kind = "command";
      inherit (v) command;
      # Only what is declared, and the basic tools: no ambient PATH.
      path = binPath (v.runtimeInputs ++ map (n: surface.${n}) v.pkgsInputs ++ surface.validatorTools);
    } else {
      kind = "builtin";
      inherit (v) check params;
    });

  hasCommands = any (v: v.command != null) validation.validators;

  config = {
    configVersion = 1;
    inherit name;
    inherit (validation) preset;
    shell = if hasCommands then "${surface.bash}/bin/bash" else null;
    validators = map toConfig validation.validators;
  } // (if linkRoots == [ ] then { } else { linkRoots = map toString linkRoots; });
in
derivation {
  inherit name;
  inherit (surface) system;
  builder = "${surface.fetcher}/bin/nix-model-repo";
  args = [ "validate" ];
  src = raw;
  config = toJSON config;
  passAsFile = [ "config" ];
  # Checking a model you already have locally is cheaper than fetching someone else's verdict.
  preferLocalBuild = true;
  allowSubstitutes = false;
}
