# mkHfSymlinks: a program that links models into the user's own Hugging Face cache
# (~/.cache/huggingface/hub, or $HF_HOME/hub), next to what huggingface_hub downloaded, so
# programs find them without HF_HUB_CACHE:
#
#   linker = mkHfSymlinks { models = [ tiny bert ]; };
#   # $ link-hf-models                →  ~/.cache/huggingface/hub/models--acme--tiny -> /nix/store/...
#   # $ link-hf-models --hub-dir DIR  →  links in DIR instead
#
# It never clobbers: an existing real directory (a model huggingface_hub downloaded) or a
# link that points outside the Nix store is left alone with a warning; only links into
# the store are replaced. The Hub cache the links point into is registered as an indirect
# GC root, so garbage collection does not leave them dangling: `gcRoot = true` (default)
# puts it at $XDG_STATE_HOME/nix-model-repo/gcroots/<name> (~/.local/state/...), a string
# is an absolute path used as is, null registers none. Declarative setups use the Home Manager
# module instead, whose links are part of the generation.
#
# The original design's form links one model and gives the script itself (a file), so it
# can be interpolated into a shellHook as a command:
#
#   shellHook = "${mkHfSymlinks { modelPath = tiny; org = "acme"; model = "tiny"; cacheDir = null; }}";
#   # cacheDir: the hub directory (null: as above)
{ surface, shell, utils, mkHfHub }:
let
  inherit (builtins) concatStringsSep map;
  ctx = "mkHfSymlinks";
  designExample = ''mkHfSymlinks { modelPath = tiny; org = "acme"; model = "tiny"; }'';

  linkScript = write: { models ? [ ], hub ? null, name ? "link-hf-models", hubDir ? null, gcRoot ? true }:
    let
      theHub = if hub != null then hub else mkHfHub { inherit models; name = "${name}-hf-hub"; };
      # The folders to link: the hub's own list when it was built by mkHfHub.
      folders = theHub.folders or (throw "mkHfSymlinks: hub must be built by mkHfHub (its passthru lists the folders to link).");
      storeDir = builtins.storeDir;
    in
    write name ''
      set -eu
      hub_dir=${if hubDir == null then ''"''${HF_HOME:-''${XDG_CACHE_HOME:-$HOME/.cache}/huggingface}/hub"'' else shell.escapeShellArg hubDir}
      if [ "''${1:-}" = --hub-dir ] && [ -n "''${2:-}" ]; then hub_dir=$2; fi
      hub=${shell.escapeShellArg theHub}
      linked=0
      mkdir -p "$hub_dir"

      link_folder() {
        local folder=$1 dest="$hub_dir/$1" target="$hub/$1" current
        if [ -L "$dest" ]; then
          current=$(readlink "$dest")
          case "$current" in
            ${storeDir}/*) ;;
            *)
              echo "${name}: leaving $dest alone: it links to $current, outside the Nix store" >&2
              return 0
              ;;
          esac
          if [ "$current" = "$target" ]; then linked=$((linked + 1)); return 0; fi
        elif [ -e "$dest" ]; then
          echo "${name}: leaving $dest alone: it is a real directory (huggingface_hub's own download?)." \
            "Move it away and run ${name} again to use the Nix store's copy." >&2
          return 0
        fi
        ln -sfn "$target" "$dest"
        linked=$((linked + 1))
      }

      ${concatStringsSep "\n" (map (folder: "link_folder ${shell.escapeShellArg folder}") folders)}

      ${if gcRoot == null || gcRoot == false then "" else ''
        gc_root=${if gcRoot == true
          then ''"''${XDG_STATE_HOME:-$HOME/.local/state}/nix-model-repo/gcroots/${name}"''
          else shell.escapeShellArg gcRoot}
        if command -v nix-store >/dev/null 2>&1 && mkdir -p "$(dirname "$gc_root")"; then
          nix-store --add-root "$gc_root" --realise "$hub" >/dev/null ||
            echo "${name}: could not register $gc_root as a GC root; the links dangle after garbage collection" >&2
        fi
      ''}
      echo "${name}: $linked of ${toString (builtins.length folders)} models linked in $hub_dir" >&2
    '';

  # The design's { modelPath; org; model; cacheDir ? null; }: one model.
  designForm = args:
    let
      a = utils.checkKnownAttrs ctx "" [ "modelPath" "org" "model" "cacheDir" ] args;
      required = option: a.${option} or (utils.fail ctx "${option} is missing. Example: ${designExample}");
    in
    linkScript surface.writeShellScript {
      models = [ { path = a.modelPath; org = required "org"; model = required "model"; } ];
      hubDir = a.cacheDir or null;
      name = "setup-hf-symlinks";
    };
in
args: if args ? modelPath then designForm args else linkScript surface.writeShellScriptBin args
