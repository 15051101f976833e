# services.model-repo: models fetched at build time, rooted with the system, and laid out
# for programs under cacheDir (docs/nixos.md).
#
#   services.model-repo = {
#     enable = true;
#     models.tiny = { source.huggingface.repo = "acme/tiny"; hash = "sha256-..."; };
#     models.llama = { source.ollama.model = "llama3.2:1b"; hash = "sha256-..."; };
#     allowedUsers = [ "alice" ];
#     auth.tokenFile = "/run/secrets/hf-token";
#   };
#
# Everything is declarative: the Hub cache and the OLLAMA_MODELS directory are store
# paths (lib.integration), linked under cacheDir by systemd-tmpfiles rules, which
# `nixos-rebuild switch` and every boot apply. No activation script.
{ config, lib, pkgs, options, ... }:
let
  inherit (lib) mkOption mkEnableOption mkIf mkMerge mkDefault types optional optionalAttrs optionals mapAttrs attrValues;

  cfg = config.services.model-repo;
  shared = import ./shared.nix { inherit lib pkgs; };
  nmr = import ../lib { inherit pkgs; fetcher = cfg.package; };
  inherit (nmr.integration) describeModel mkHfHub mkOllamaModels mkEnvironment;

  # The daemon-wide token file becomes each matching model's auth.tokenFile default.
  withDefaults = name: model:
    let
      sourceType = lib.head (lib.attrNames (model.source or { unknown = null; }));
      takesToken = cfg.auth.tokenFile != null && lib.elem sourceType cfg.auth.tokenFileSources;
    in
    { inherit name; }
    // model
    // optionalAttrs takesToken { auth = { tokenFile = cfg.auth.tokenFile; } // (model.auth or { }); };

  built = mapAttrs (name: model: nmr.fetchModel (withDefaults name model)) cfg.models;
  inherit (shared.byLayout describeModel built) hfModels ollamaModels;

  hub = if cfg.huggingfaceIntegration && hfModels != { } then mkHfHub { models = attrValues hfModels; name = "model-repo-hf-hub"; } else null;
  ollamaDir = if ollamaModels != { } then mkOllamaModels { models = attrValues ollamaModels; name = "model-repo-ollama"; } else null;

  hubLink = "${cfg.cacheDir}/huggingface/hub";
  ollamaLink = "${cfg.cacheDir}/ollama";

  # Programs see the stable links under cacheDir, not store paths, so a rebuild that
  # changes the models needs no new login shell for the paths to be right.
  env = mkEnvironment {
    models = attrValues built;
    hub = if hub == null then false else hubLink;
    ollamaModels = if ollamaDir == null then false else ollamaLink;
    inherit (cfg) offline;
  };

  restricted = cfg.allowedUsers != [ ];
  mode = if restricted then "0750" else "0755";
  group = if restricted then cfg.group else "root";

  # Only wire services.ollama where that module exists (NixOS ≥ 24.05) and is used.
  hasOllamaService = options ? services && options.services ? ollama && options.services.ollama ? models;
in
{
  options.services.model-repo = {
    enable = mkEnableOption "models fetched reproducibly into the Nix store by nix-model-repo";

    package = shared.packageOption;

    models = shared.modelsOption "They are built with the system and kept from garbage collection with it.";

    cacheDir = mkOption {
      # A path literal (`cacheDir = /srv/models;`, as the original design types it) is taken
      # as the path it names: interpolating it would copy that directory into the store.
      type = types.coercedTo types.path toString (types.strMatching "/.*");
      default = "/var/cache/model-repo";
      example = "/srv/models";
      description = ''
        Where the models are laid out for programs: `huggingface/hub` (a Hugging Face Hub
        cache, HF_HUB_CACHE) and `ollama` (OLLAMA_MODELS) are symlinks into the store that
        systemd-tmpfiles keeps up to date. The module owns these two paths and replaces
        whatever is there. An absolute path, as a string or a path (never copied into the
        store).
      '';
    };

    huggingfaceIntegration = mkOption {
      type = types.bool;
      default = true;
      description = "Link a Hub cache of the Hugging Face layout models at `cacheDir/huggingface/hub` and export HF_HUB_CACHE.";
    };

    offline = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Export HF_HUB_OFFLINE=1, TRANSFORMERS_OFFLINE=1 and HF_DATASETS_OFFLINE=1 with the
        Hub cache. The cache is read-only, and huggingface_hub versions before the fix for
        read-only caches write into it even on a hit unless offline.
      '';
    };

    setHfHome = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Also export HF_HOME = `cacheDir/huggingface`. Off by default: huggingface_hub keeps
        the user's token, the Xet cache and datasets under HF_HOME, and those must stay
        writable per user; HF_HUB_CACHE alone points programs at the models.
      '';
    };

    allowedUsers = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "alice" "inference" ];
      description = ''
        Users who may use `cacheDir`: they join `group`, which owns it (mode 0750). The
        empty list (the default, as in the original design) restricts nothing: `cacheDir`
        is readable by everyone (0755). To allow root alone, list `[ "root" ]`. This guards
        the convenient paths only: the models themselves are in the world-readable Nix store.
      '';
    };

    group = mkOption {
      type = types.str;
      default = "model-repo";
      description = "The group that owns `cacheDir` when `allowedUsers` is set.";
    };

    auth = {
      environmentFile = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "/run/secrets/model-repo.env";
        description = ''
          A file of `NAME=value` lines (HF_TOKEN=..., AWS_ACCESS_KEY_ID=...) loaded into
          nix-daemon's environment (systemd EnvironmentFile), where fixed-output builds
          read the variables they list in impureEnvVars. A string, so the secret never
          enters the store. It is optional to systemd ("-" prefix): while it is missing
          (a secrets manager has not written it yet) the daemon still starts, so
          `nixos-rebuild` keeps working. Every user who may build can read these variables
          through a fixed-output derivation of their own; see docs/nixos.md.
        '';
      };

      tokenFile = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "/run/secrets/hf-token";
        description = ''
          A token file made visible inside build sandboxes (nix.settings.extra-sandbox-paths,
          as an optional path: "?" suffix) and set as `auth.tokenFile` of every model whose
          source is in `tokenFileSources` (unless the model sets its own). While the file
          is missing, other builds (and `nixos-rebuild`) go on; a model that needs it fails
          saying so. It must be readable by the build users (e.g. mode 0440, group nixbld).
          The sandbox path is visible to every sandboxed build, not only these models'. A
          string, so the secret never enters the store.
        '';
      };

      tokenFileSources = mkOption {
        type = types.listOf types.str;
        default = [ "huggingface" ];
        description = ''
          The source types that get `auth.tokenFile` by default. Only Hugging Face: a Hub
          token must not be sent to other hosts.
        '';
      };
    };

    ollama.configureService = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Point services.ollama at the Ollama models (services.ollama.models, OLLAMA_NOPRUNE=1).
        The directory is read-only: `ollama pull`, `ollama rm` and services.ollama.loadModels
        cannot change it.
      '';
    };

    # Results, for other modules: e.g. systemd.services.my-app.environment = config.services.model-repo.environment;
    packages = mkOption {
      type = types.attrsOf types.package;
      readOnly = true;
      description = "The fetched models, by name.";
    };
    environment = mkOption {
      type = types.attrsOf types.str;
      readOnly = true;
      description = "The variables exported to every shell, for services' `environment`.";
    };
  };

  config = mkIf cfg.enable (mkMerge [
    {
      services.model-repo.packages = built;
      services.model-repo.environment = env.variables;

      # mkDefault: a value of the user's own (HF_HUB_OFFLINE = "0") wins instead of conflicting.
      environment.variables = mapAttrs (_: mkDefault) (env.variables
        // optionalAttrs (cfg.setHfHome && hub != null) { HF_HOME = "${cfg.cacheDir}/huggingface"; });

      systemd.tmpfiles.rules =
        [ "d ${cfg.cacheDir} ${mode} root ${group} -" ]
        ++ optionals (hub != null) [
          "d ${cfg.cacheDir}/huggingface ${mode} root ${group} -"
          "L+ ${hubLink} - - - - ${hub}"
        ]
        ++ optional (ollamaDir != null) "L+ ${ollamaLink} - - - - ${ollamaDir}";

      # The system's closure holds the models: no garbage collection while this
      # generation exists, and no runtime download.
      system.extraDependencies = attrValues built ++ optional (hub != null) hub ++ optional (ollamaDir != null) ollamaDir;

      users.groups = optionalAttrs restricted { ${cfg.group}.members = cfg.allowedUsers; };
    }

    (mkIf (cfg.auth.environmentFile != null) {
      # NixOS starts nix-daemon.service from nix-daemon.socket (no per-connection
      # nix-daemon@ instances), so this one unit is where builds get their environment.
      # "-": a missing file is skipped (systemd.exec(5)); without it the daemon would not
      # start, and no build could run, the nixos-rebuild that fixes it included.
      systemd.services.nix-daemon.serviceConfig.EnvironmentFile = [ "-${cfg.auth.environmentFile}" ];
    })

    (mkIf (cfg.auth.tokenFile != null) {
      # "?": Nix mounts it only if it exists (nix.conf sandbox-paths). Without it a missing
      # file fails every sandboxed build, the nixos-rebuild that would fix it included.
      nix.settings.extra-sandbox-paths = [ "${cfg.auth.tokenFile}?" ];
    })

    (optionalAttrs hasOllamaService (mkIf (cfg.ollama.configureService && ollamaDir != null) {
      # The store path itself: the ollama service runs as a dynamic user that need not be
      # in `group`, so it could not traverse cacheDir.
      services.ollama.models = mkDefault "${ollamaDir}";
      services.ollama.environmentVariables.OLLAMA_NOPRUNE = mkDefault "1";
    }))

    {
      warnings = optional (cfg.ollama.configureService && !hasOllamaService)
        "services.model-repo.ollama.configureService is set, but this NixOS has no services.ollama.models option; use OLLAMA_MODELS=${ollamaLink} yourself.";
    }
  ]);
}
