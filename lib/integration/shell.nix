# Shell helpers shared by the integration functions (builtins only; docs/architecture.md).
# Everything a generated script exports or executes goes through `escapeShellArg`
# (lib/utils.nix), so a value with spaces, quotes or `$` reaches the program exactly as
# written.
let
  inherit (builtins) concatStringsSep attrNames;
  inherit (import ../utils.nix) escapeShellArg;
in
{
  inherit escapeShellArg;

  # export NAME='value' lines, sorted by name (attrNames is sorted), one per variable.
  exportLines = variables:
    concatStringsSep "\n" (map (name: "export ${name}=${escapeShellArg variables.${name}}") (attrNames variables));
}
