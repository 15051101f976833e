# programs.model-repo: models for one user (docs/home-manager.md).
#
#   programs.model-repo = {
#     enable = true;
#     models.tiny = { source.huggingface.repo = "acme/tiny"; hash = "sha256-..."; };
#     models.llama = { source.ollama.model = "llama3.2:1b"; hash = "sha256-..."; };
#   };
#
# Hugging Face layout models are linked one folder each into ~/.cache/huggingface/hub
# (home.file), next to what huggingface_hub downloads there itself. A real directory in
# the way (a model huggingface_hub downloaded) is Home Manager's collision: activation
# stops, unless backupFileExtension / backupCommand is set, in which case Home Manager
# moves it aside (models--org--name.<ext>) and links ours (modules/files.nix,
# files/check-link-targets.sh). Ollama models form one OLLAMA_MODELS directory. The
# links are part of the generation, so the models are kept from garbage collection
# while it exists; models without links are rooted through home.extraDependencies (or,
# on Home Manager releases without it, a manifest package).
{ config, lib, pkgs, options, ... }:
let
  inherit (lib) mkOption mkEnableOption mkIf mkMerge mkDefault types optionalAttrs mapAttrs attrValues filterAttrs listToAttrs;

  cfg = config.programs.model-repo;
  shared = import ./shared.nix { inherit lib pkgs; };
  nmr = import ../lib { inherit pkgs; fetcher = cfg.package; };
  inherit (nmr.integration) describeModel mkHfHub mkOllamaModels mkEnvironment;

  built = mapAttrs (name: model: nmr.fetchModel ({ inherit name; } // model)) cfg.models;
  inherit (shared.byLayout describeModel built) hfModels ollamaModels;

  hub = if cfg.huggingfaceIntegration && hfModels != { } then mkHfHub { models = attrValues hfModels; name = "home-hf-hub"; } else null;
  ollamaDir = if ollamaModels != { } then mkOllamaModels { models = attrValues ollamaModels; name = "home-ollama-models"; } else null;
  ollamaPath = "${config.home.homeDirectory}/${cfg.ollama.directory}";

  # The links in ~/.cache/huggingface/hub are where huggingface_hub looks by default, so
  # no HF_HUB_CACHE: the user's other downloads keep working beside them. Offline mode's
  # variables are mkEnvironment's, exported on their own.
  env = mkEnvironment {
    models = attrValues built;
    hub = false;
    ollamaModels = if ollamaDir == null then false else ollamaPath;
    inherit (cfg) offline;
  };
  offlineVariables = optionalAttrs (hfModels != { }) env.offlineVariables;

  # Everything the links do not already keep alive.
  linked = name: (hub != null && hfModels ? ${name}) || ollamaModels ? ${name};
  unlinked = attrValues (filterAttrs (name: _: !(linked name)) built);
  roots = unlinked ++ lib.optional (hub != null) hub ++ lib.optional (ollamaDir != null) ollamaDir;
  hasExtraDependencies = options ? home && options.home ? extraDependencies;
  manifest = pkgs.writeTextFile {
    name = "model-repo-models";
    destination = "/share/nix-model-repo/models.json";
    text = builtins.toJSON (mapAttrs (_: model: "${model}") built);
  };
in
{
  # The original design named it offlineMode; NixOS's module says offline.
  imports = [ (lib.mkRenamedOptionModule [ "programs" "model-repo" "offlineMode" ] [ "programs" "model-repo" "offline" ]) ];

  options.programs.model-repo = {
    enable = mkEnableOption "models fetched reproducibly into the Nix store by nix-model-repo";

    package = shared.packageOption;

    models = shared.modelsOption "They are kept from garbage collection by the Home Manager generation.";

    huggingfaceIntegration = mkOption {
      type = types.bool;
      default = true;
      description = "Link each Hugging Face layout model into `hubDirectory` (home.file).";
    };

    hubDirectory = mkOption {
      type = types.str;
      default = ".cache/huggingface/hub";
      description = "Where the links go, relative to the home directory: huggingface_hub's default cache (HF_HUB_CACHE).";
    };

    offline = mkOption {
      type = types.bool;
      default = true;
      description = "Set HF_HUB_OFFLINE=1, TRANSFORMERS_OFFLINE=1 and HF_DATASETS_OFFLINE=1 in the session (`offlineMode`, the original design's name, still works).";
    };

    ollama = {
      directory = mkOption {
        type = types.str;
        default = ".local/share/nix-model-repo/ollama";
        description = ''
          Where the OLLAMA_MODELS directory of the Ollama models is linked, relative to the
          home directory. Not ~/.ollama/models: that stays Ollama's own, writable one.
        '';
      };
      setSessionVariables = mkOption {
        type = types.bool;
        default = true;
        description = "Export OLLAMA_MODELS (the directory) and OLLAMA_NOPRUNE=1 in the session.";
      };
      configureService = mkOption {
        type = types.bool;
        default = false;
        description = ''
          Give Home Manager's services.ollama the same OLLAMA_MODELS and OLLAMA_NOPRUNE=1.
          The directory is read-only: `ollama pull` and `ollama rm` cannot change it.
        '';
      };
    };

    packages = mkOption {
      type = types.attrsOf types.package;
      readOnly = true;
      description = "The fetched models, by name.";
    };
  };

  config = mkIf cfg.enable (mkMerge [
    {
      programs.model-repo.packages = built;

      home.file =
        (if hub == null then { } else listToAttrs (map
          (folder: { name = "${cfg.hubDirectory}/${folder}"; value.source = "${hub}/${folder}"; })
          hub.folders))
        // optionalAttrs (ollamaDir != null) { ${cfg.ollama.directory}.source = ollamaDir; };

      # mkDefault: a value of the user's own (HF_HUB_OFFLINE = "0") wins instead of conflicting.
      home.sessionVariables = mapAttrs (_: mkDefault) (offlineVariables
        // (if cfg.ollama.setSessionVariables then env.variables else removeAttrs env.variables [ "OLLAMA_MODELS" "OLLAMA_NOPRUNE" ]));
    }

    (if hasExtraDependencies then { home.extraDependencies = roots; } else { home.packages = [ manifest ]; })

    (optionalAttrs (options ? services && options.services ? ollama && options.services.ollama ? environmentVariables)
      (mkIf (cfg.ollama.configureService && ollamaDir != null) {
        services.ollama.environmentVariables = mapAttrs (_: mkDefault) { OLLAMA_MODELS = ollamaPath; OLLAMA_NOPRUNE = "1"; };
      }))
  ]);
}
