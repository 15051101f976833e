# Shell-quoting helpers shared by the integration functions (builtins only; docs/architecture.md).
# Everything a generated script exports or executes goes through `escapeShellArg`, so a
# value with spaces, quotes or `$` reaches the program exactly as written.
let
  inherit (builtins) replaceStrings concatStringsSep attrNames;
in
rec {
  # 'it'\''s' — POSIX single quotes, safe in bash and sh.
  escapeShellArg = s: "'" + replaceStrings [ "'" ] [ "'\\''" ] (toString s) + "'";

  # export NAME='value' lines, sorted by name (attrNames is sorted), one per variable.
  exportLines = variables:
    concatStringsSep "\n" (map (name: "export ${name}=${escapeShellArg variables.${name}}") (attrNames variables));
}
