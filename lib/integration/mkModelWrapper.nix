# mkModelWrapper: wraps a program so it runs with mkEnvironment's variables (a Hub cache
# of the models, offline mode, OLLAMA_MODELS, each model's integration.environment, and
# `environment`):
#
#   mkModelWrapper { program = "${python}/bin/python"; models = [ tiny ]; }
#   # $out/bin/python: HF_HUB_CACHE=/nix/store/...-hf-hub HF_HUB_OFFLINE=1 ... exec python "$@"
#
#   mkModelWrapper { package = pkgs.llama-cpp; environment.LLAMA_MODEL = "${gguf}/model.gguf"; }
#   # every program in llama-cpp's bin/, wrapped
#
#   mkModelWrapper { program = "${python}/bin/python"; models = [ { path = tiny; name = "tiny"; envVar = "TINY_PATH"; } ]; }
#   # the original design's records: TINY_PATH=/nix/store/...-tiny (tiny is also in the hub)
#
# Exactly one of `program` (an executable's path; the wrapper takes its name unless
# `name` is given) or `package` (every executable in its bin/). The wrapper refers to the
# models, so installing it keeps them from garbage collection. passthru: environment
# (the variables), hub, ollamaModels, models. meta: mainProgram and description only:
# the wrapper has one output, so the package's outputsToInstall (bin, man, ...) would
# name outputs it does not have and break systemPackages / home.packages.
{ surface, shell, mkEnvironment }:
let
  inherit (builtins) baseNameOf unsafeDiscardStringContext;
  ctx = "mkModelWrapper";

  # The program's file name. baseNameOf keeps the string context of "${python}/bin/python",
  # and Nix refuses a derivation name that refers to a store path: the name is only a name.
  programName = program: unsafeDiscardStringContext (baseNameOf (toString program));
in
{ program ? null, package ? null, name ? null, models ? [ ], hub ? null, ollamaModels ? null
, offline ? true, environment ? { } }:
let
  env = mkEnvironment { inherit models hub ollamaModels offline environment; name = if name != null then name else "wrapped"; };
  drvName =
    if name != null then name
    else if program != null then programName program
    else "${package.pname or package.name or "program"}-with-models";
  # The exports every wrapper starts with; passAsFile keeps the builder's command line short.
  exports = shell.exportLines env.variables;
  writeWrapper = ''
    nmr_write_wrapper() {
      {
        printf '#!%s\n' ${shell.escapeShellArg surface.runtimeShell}
        cat "$exportsPath"
        printf '\nexec -a "$0" %q "$@"\n' "$2"
      } > "$1"
      chmod 0755 "$1"
    }
  '';
in
if (program == null) == (package == null) then
  throw "${ctx}: give exactly one of program (an executable, e.g. program = \"\${pkgs.hello}/bin/hello\";) or package (wraps its bin/, e.g. package = pkgs.hello;)."
else
  surface.runCommandLocal drvName
    {
      inherit exports;
      passAsFile = [ "exports" ];
      passthru = {
        environment = env.variables;
        inherit (env) hub ollamaModels models;
      };
      meta =
        if program != null then { mainProgram = if name != null then name else programName program; description = "${programName program} with models"; }
        else builtins.intersectAttrs { mainProgram = null; description = null; } (package.meta or { });
    }
    (writeWrapper + (if program != null then ''
      mkdir -p "$out/bin"
      nmr_write_wrapper "$out/bin/"${shell.escapeShellArg (if name != null then name else programName program)} ${shell.escapeShellArg program}
    '' else ''
      mkdir -p "$out/bin"
      found=0
      for exe in ${shell.escapeShellArg package}/bin/*; do
        [ -x "$exe" ] && [ ! -d "$exe" ] || continue
        nmr_write_wrapper "$out/bin/$(basename "$exe")" "$exe"
        found=$((found + 1))
      done
      if [ "$found" = 0 ]; then
        echo "${ctx}: ${package.name or "the package"} has no executables in bin/ to wrap" >&2
        exit 1
      fi
    ''))
