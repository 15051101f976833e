# mkShellHook: a dev shell's shellHook that makes models ready offline.
#
#   pkgs.mkShell {
#     packages = [ pkgs.python3Packages.transformers ];
#     shellHook = mkShellHook { models = [ tiny bert ]; };
#   }
#
# It exports mkEnvironment's variables (HF_HUB_CACHE pointing at a Hub cache of the
# models, HF_HUB_OFFLINE=1, TRANSFORMERS_OFFLINE=1, HF_DATASETS_OFFLINE=1; OLLAMA_MODELS
# and OLLAMA_NOPRUNE=1 for Ollama models; each model's integration.environment), and
# keeps what it exports from garbage collection with indirect GC roots under
# `gcRootDir` (relative to the directory the shell starts in; null: none). Entering the
# shell builds the models: the hook's text refers to them.
#
# Options: models, hub, ollamaModels, offline, environment (as mkEnvironment);
# gcRootDir (default ".nix-model-repo/gcroots"; $NIX_MODEL_REPO_GCROOTS overrides it);
# linkIntoHome (also run mkHfSymlinks: links in ~/.cache/huggingface/hub); quiet.
{ shell, mkEnvironment, mkHfSymlinks }:
let
  inherit (builtins) concatStringsSep length map filter match elemAt foldl' elem;

  # A root's name is the store path's name part: it says what it keeps, and the next
  # version of the same model replaces it instead of piling up. Repeats get -2, -3...
  nameOf = path:
    let m = match "${builtins.storeDir}/[a-z0-9]{32}-(.*)" "${path}";
    in if m == null then "model" else elemAt m 0;
  uniqueNames = paths: (foldl'
    (acc: path:
      let
        base = nameOf path;
        pick = n: let candidate = if n == 1 then base else "${base}-${toString n}"; in
          if elem candidate acc.taken then pick (n + 1) else candidate;
        chosen = pick 1;
      in { taken = acc.taken ++ [ chosen ]; roots = acc.roots ++ [ { name = chosen; inherit path; } ]; })
    { taken = [ ]; roots = [ ]; }
    paths).roots;
in
{ models ? [ ], hub ? null, ollamaModels ? null, offline ? true, environment ? { }
, gcRootDir ? ".nix-model-repo/gcroots", linkIntoHome ? false, quiet ? false, name ? "shell" }:
let
  env = mkEnvironment { inherit models hub ollamaModels offline environment name; };
  folders = filter (f: f != null) (map (e: e.folder) env.models);
  ollamaNames = map (e: e.name) (filter (e: e.layout == "ollama") env.models);
  # The links point into this shell's hub, which the hook's own GC root keeps alive.
  linker = mkHfSymlinks { hub = env.hub; name = "link-hf-models"; gcRoot = gcRootDir == null; };

  gcRoots = if gcRootDir == null then "" else ''
    # Indirect GC roots: `nix-collect-garbage` keeps these models while the links exist.
    if command -v nix-store >/dev/null 2>&1; then
      _nmr_gcroots=''${NIX_MODEL_REPO_GCROOTS:-${shell.escapeShellArg gcRootDir}}
      if mkdir -p "$_nmr_gcroots" 2>/dev/null; then
        :
        ${concatStringsSep "\n    " (map (root:
          "nix-store --add-root \"$_nmr_gcroots\"/${shell.escapeShellArg root.name} --realise ${shell.escapeShellArg root.path} >/dev/null "
          + "|| echo \"nix-model-repo: could not add a GC root for ${root.name} in $_nmr_gcroots\" >&2") (uniqueNames env.roots))}
      else
        echo "nix-model-repo: cannot create $_nmr_gcroots; the models are not protected from garbage collection" >&2
      fi
      unset _nmr_gcroots
    fi
  '';

  summary =
    let
      hf = if folders == [ ] then [ ] else [ "${toString (length folders)} in HF_HUB_CACHE (${concatStringsSep ", " (map (e: e.repoId) (filter (e: e.folder != null) env.models))})" ];
      ol = if ollamaNames == [ ] then [ ] else [ "${toString (length ollamaNames)} in OLLAMA_MODELS (${concatStringsSep ", " ollamaNames})" ];
    in
    concatStringsSep "; " (hf ++ ol);
in
''
  # nix-model-repo: models ready offline
  ${shell.exportLines env.variables}
  ${gcRoots}
  ${if linkIntoHome && env.hub != null then "${linker}/bin/link-hf-models" else ""}
  ${if quiet || summary == "" then "" else "echo ${shell.escapeShellArg "nix-model-repo: models ready offline: ${summary}"} >&2"}
''
