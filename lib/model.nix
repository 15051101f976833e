# What fetchModel and fromLock share (docs/fetchModel.md, docs/lockfile.md): the options
# checked into what every derivation of a model needs — its name, the fetch spec, the
# attributes of its fixed-output derivations — and the result built around a raw output
# (phase 2, integration, passthru), so a locked model is the same kind of value as a
# fetched one.
{ utils, sources, surface }:
let
  inherit (builtins) isAttrs;
  network = import ./network.nix { inherit utils; };
  auth = import ./auth.nix { inherit utils; };
  onFailure = import ./on-failure.nix { inherit utils; };
  modelSource = import ./model-source.nix { inherit utils sources; };
  inherit (modelSource) exampleSource;
  integrationConfig = import ./integration/config.nix { inherit utils; };
  validationLib = import ./validation { inherit utils; };
  phase2 = validationLib.phase2 surface;

  knownOptions = [ "name" "source" "hash" "validation" "integration" "network" "auth" "onFailure" "meta" "passthru" ];
in
{
  inherit knownOptions;

  # prepare "fetchModel" { name; source; ... } → { config; picked; sourceSpec; name; spec; fixedOutput; }
  prepare = ctx: args:
    let
      config = utils.checkKnownAttrs ctx "" knownOptions (utils.expect ctx "the argument" "an attribute set of options" "{ name = \"tiny\"; ${exampleSource} hash = \"sha256-...\"; }" isAttrs args);
      picked = modelSource.pick ctx (config.source or (utils.fail ctx "source is missing. Example: ${exampleSource}"));
      sourceSpec = picked.adapter.toSpec picked.config;
      name = utils.expect ctx "name" "a store name (letters, digits, + - . _ ? =)" "\"tiny\"" utils.isStoreName (config.name or (picked.adapter.defaultName sourceSpec));
      authSpec = auth (config.auth or { });
      spec = {
        specVersion = 1;
        inherit name;
        source = sourceSpec;
        network = network (config.network or { });
        auth = authSpec;
        onFailure = onFailure (config.onFailure or { });
      };
      # Extra builder environment a source needs (git-lfs: the git executable).
      builderEnv = (picked.adapter.builderEnv or (_: { })) surface;
    in
    {
      inherit config picked sourceSpec name spec;
      # A fixed-output derivation of this model whose builder is the fetcher: `attrs`
      # gives its name, spec and output hash.
      fixedOutput = attrs: derivation (builderEnv // {
        inherit (surface) system;
        builder = "${surface.fetcher}/bin/nix-model-repo";
        args = [ "fetch" ];
        passAsFile = [ "spec" ];
        outputHashAlgo = "sha256";
        impureEnvVars = picked.adapter.impureEnvVars
          ++ (if authSpec.tokenEnvVar == null then [ ] else [ authSpec.tokenEnvVar ])
          ++ surface.proxyImpureEnvVars;
        SSL_CERT_FILE = surface.caBundle;
        # Models are large: building elsewhere only to copy them back doubles the transfer.
        preferLocalBuild = true;
      } // attrs);
    };

  # The model around a raw (phase 1) output: validated by default, with passthru.
  # `linkRoots`: store paths the raw output links into (a locked model's files).
  finish = { prepared, raw, linkRoots ? [ ], passthru ? { } }:
    let
      inherit (prepared) config picked name spec sourceSpec;
      modelInfo = picked.adapter.info sourceSpec;
      # The `integration` option, resolved for lib/integration (Hub folder, layout, environment).
      integration = integrationConfig.resolve { inherit name; info = modelInfo; sourceType = picked.type; integration = config.integration or { }; };

      # The `validation` option, resolved (lib/validation/config.nix); disabled: the result is `raw`.
      resolvedValidation = validationLib.resolve { validation = config.validation or { }; };
      validation = resolvedValidation.config;
      result = if validation.enable then phase2 { inherit name raw validation linkRoots; } else raw;

      allPassthru = {
        inherit raw spec modelInfo integration validation;
        sourceType = picked.type;
        source = picked.config;
        # What is known before building; the output's .nix-model-repo-meta.json has the rest.
        metaFile = "${result}/.nix-model-repo-meta.json";
        # The folder under HF_HUB_CACHE (models--org--name), honouring integration.huggingface; null for Ollama.
        hubCacheFolder = integration.huggingface.folder;
      } // passthru // (config.passthru or { });

      # `integration` only shapes passthru, so nothing else would check it: it is checked
      # when the model is built or its path used, like the options that shape the spec.
      # `validation` likewise, even when disabled.
      checked = value: builtins.deepSeq integration (builtins.seq resolvedValidation.checked value);
    in
    result // allPassthru // {
      meta = { description = "Model ${name} fetched by nix-model-repo"; } // (config.meta or { });
      passthru = allPassthru;
      drvPath = checked result.drvPath;
      outPath = checked result.outPath;
    };
}
