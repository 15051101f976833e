# Validators are plain attribute sets, so users can build, merge and override them
# (`validators.noPickleFiles // { onFailure = "warn"; }`). This file defines their one
# shape and checks any value given as a validator:
#
#   {
#     name;                 # unique; the report's key
#     description;          # one line for the log
#     command;              # a bash script (run with -e -o pipefail; $src is the model), or
#     check; params;        # a built-in check the fetcher runs (lib/validation/validators.nix)
#     runtimeInputs;        # packages whose bin/ goes on the script's PATH
#     onFailure;            # "abort" | "warn" | "skip" | null (null: validation.onFailure)
#     timeout;              # seconds | null (null: validation.timeout)
#   }
#
# Plain attribute sets in the original design's shape ({ name; command; description;
# onFailure; timeout; }) are validators too.
{ utils }:
let
  inherit (builtins) isAttrs isList isString elem concatStringsSep match filter;

  checks = [ "scanner" "noPickleFiles" "safetensorsOnly" "noPythonCode" "maxSize" "requiredFiles" "validJson" "licenseCheck" ];
  onFailureValues = [ "abort" "warn" "skip" ];
  # Packages a built-in validator takes from the library's own pkgs (lib/pkgs-surface.nix).
  pkgsInputNames = [ "modelscan" ];
  known = [ "_type" "__functor" "name" "description" "command" "check" "params" "runtimeInputs" "pkgsInputs" "onFailure" "timeout" "expr" ];

  exampleCommand = ''mkValidator { name = "has-config"; command = "test -f \"$src/config.json\""; }'';

  # Checks `v` (given at `where`, e.g. "validation.validators[2]") and fills the defaults.
  normalize = context: where: v:
    let
      checked = utils.checkKnownAttrs context "${where}." known
        (utils.expect context where "a validator (an attribute set; see lib.validation.validators and mkValidator)" exampleCommand isAttrs v);
      name = utils.expect context "${where}.name" "a name of letters, digits and . _ + -" "\"has-config\""
        (n: isString n && match "[A-Za-z0-9][A-Za-z0-9._+-]*" n != null) (checked.name or null);
      command = checked.command or null;
      check = checked.check or null;
      described = "${where} (${name})";
    in
    if command == null && check == null then
      utils.fail context "${described} has neither a command nor a check. Example: ${exampleCommand}"
    else if command != null && check != null then
      utils.fail context "${described} has both a command and a check; a validator is one or the other."
    else
      {
        _type = "nix-model-repo-validator";
        inherit name;
        description = utils.expect context "${described}.description" "a string" "\"what it checks\"" isString (checked.description or "");
        command = if command == null then null
          else utils.expect context "${described}.command" "a bash script (a string)" "\"test -f \\\"$src/config.json\\\"\"" isString command;
        check = if check == null then null
          else utils.expect context "${described}.check" "one of ${concatStringsSep ", " checks} (built-in checks come from lib.validation.validators)" "\"noPickleFiles\"" (c: elem c checks) check;
        params = utils.expect context "${described}.params" "an attribute set" "{ }" isAttrs (checked.params or { });
        runtimeInputs = utils.expect context "${described}.runtimeInputs" "a list of packages" "[ pkgs.jq ]" isList (checked.runtimeInputs or [ ]);
        pkgsInputs = utils.expect context "${described}.pkgsInputs" "a list of ${concatStringsSep ", " pkgsInputNames}" "[ \"modelscan\" ]"
          (l: isList l && filter (n: !(elem n pkgsInputNames)) l == [ ]) (checked.pkgsInputs or [ ]);
        onFailure = utils.expect context "${described}.onFailure" "one of \"abort\", \"warn\", \"skip\" (or null for validation.onFailure)" "\"warn\""
          (o: o == null || elem o onFailureValues) (checked.onFailure or null);
        timeout = utils.expect context "${described}.timeout" "a positive number of seconds (or null for validation.timeout)" "600"
          (t: t == null || utils.isPositiveNumber t) (checked.timeout or null);
        expr = checked.expr or null;
      };
in
{
  inherit normalize checks onFailureValues;

  # mkValidator { name; command; description ? ""; runtimeInputs ? [ ]; onFailure ? null; timeout ? null; }
  mkValidator = args:
    let v = normalize "mkValidator" "mkValidator's argument" args;
    in
    if v.command == null then utils.fail "mkValidator" "give a command (a bash script run with $src set to the model). Example: ${exampleCommand}"
    else v;
}
