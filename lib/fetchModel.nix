# fetchModel: the library's entry point (docs/fetchModel.md).
#
#   fetchModel {
#     name = "tiny";
#     source.huggingface = { repo = "acme/tiny"; revision = "main"; files = [ "*.json" "*.safetensors" ]; };
#     hash = "sha256-...";      # from `nix-model-repo prefetch hf:acme/tiny ...`
#   }
#
# Phase 1 is a fixed-output derivation whose builder is the bundled fetcher; the
# config becomes a spec file (docs/spec.md) that never holds a secret. Phase 2
# (docs/validation.md) runs the validators without network and gives the result: a
# derivation named `name` whose output links into the raw one and adds the report.
{ utils, sources, surface }:
let
  inherit (builtins) toJSON isAttrs;
  ctx = "fetchModel";
  network = import ./network.nix { inherit utils; };
  auth = import ./auth.nix { inherit utils; };
  onFailure = import ./on-failure.nix { inherit utils; };
  modelSource = import ./model-source.nix { inherit utils sources; };
  inherit (modelSource) exampleSource prefetchCommand fakeHash;
  integrationConfig = import ./integration/config.nix { inherit utils; };
  validationLib = import ./validation { inherit utils; };
  phase2 = validationLib.phase2 surface;

  knownOptions = [ "name" "source" "hash" "validation" "integration" "network" "auth" "onFailure" "meta" "passthru" ];

  checkHash = name: sourceSpec: adapter: hash:
    if hash == null || hash == "" then
      utils.fail ctx ''hash is missing for model "${name}". Get it with:
    ${prefetchCommand name sourceSpec adapter}
  and set hash = "sha256-..."; (or hash = "${fakeHash}"; and read the right one from the build error).''
    else utils.expect ctx "hash" "an SRI sha256 hash" "\"sha256-2kXl3yJh7rOqFyA5Pbgo1Yp7b4Y4wq0lU6r1t9m2X8E=\"" utils.isSriSha256 hash;
in
args:
let
  config = utils.checkKnownAttrs ctx "" knownOptions (utils.expect ctx "the argument" "an attribute set of options" "{ name = \"tiny\"; ${exampleSource} hash = \"sha256-...\"; }" isAttrs args);
  picked = modelSource.pick ctx (config.source or (utils.fail ctx "source is missing. Example: ${exampleSource}"));
  sourceSpec = picked.adapter.toSpec picked.config;
  name = utils.expect ctx "name" "a store name (letters, digits, + - . _ ? =)" "\"tiny\"" utils.isStoreName (config.name or (picked.adapter.defaultName sourceSpec));
  hash = checkHash name sourceSpec picked.adapter (config.hash or null);
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

  raw = derivation (builderEnv // {
    # A pure function of `name` (docs/prefetch.md): `prefetch` adds its result under this name.
    name = "${name}-raw";
    inherit (surface) system;
    builder = "${surface.fetcher}/bin/nix-model-repo";
    args = [ "fetch" ];
    spec = toJSON spec;
    passAsFile = [ "spec" ];
    outputHashMode = "recursive";
    outputHashAlgo = "sha256";
    outputHash = hash;
    impureEnvVars = picked.adapter.impureEnvVars
      ++ (if authSpec.tokenEnvVar == null then [ ] else [ authSpec.tokenEnvVar ])
      ++ surface.proxyImpureEnvVars;
    SSL_CERT_FILE = surface.caBundle;
    # Models are large: building elsewhere only to copy them back doubles the transfer.
    preferLocalBuild = true;
  });

  modelInfo = picked.adapter.info sourceSpec;
  # The `integration` option, resolved for lib/integration (Hub folder, layout, environment).
  integration = integrationConfig.resolve { inherit name; info = modelInfo; sourceType = picked.type; integration = config.integration or { }; };

  # The `validation` option, resolved (lib/validation/config.nix); disabled: the result is `raw`.
  resolvedValidation = validationLib.resolve { validation = config.validation or { }; };
  validation = resolvedValidation.config;
  result = if validation.enable then phase2 { inherit name raw validation; } else raw;

  passthru = {
    inherit raw spec modelInfo integration validation;
    sourceType = picked.type;
    source = picked.config;
    # What is known before building; the output's .nix-model-repo-meta.json has the rest.
    metaFile = "${result}/.nix-model-repo-meta.json";
    # The folder under HF_HUB_CACHE (models--org--name), honouring integration.huggingface; null for Ollama.
    hubCacheFolder = integration.huggingface.folder;
  } // (config.passthru or { });

  # `integration` only shapes passthru, so nothing else would check it: it is checked
  # when the model is built or its path used, like the options that shape the spec.
  # `validation` likewise, even when disabled.
  checked = value: builtins.deepSeq integration (builtins.seq resolvedValidation.checked value);
in
result // passthru // {
  meta = { description = "Model ${name} fetched by nix-model-repo"; } // (config.meta or { });
  inherit passthru;
  drvPath = checked result.drvPath;
  outPath = checked result.outPath;
}
