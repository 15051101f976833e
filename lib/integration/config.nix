# fetchModel's `integration` option: checked here, resolved into `passthru.integration`,
# which the integration helpers (mkHfHub, mkShellHook, the modules...) read.
#
#   integration = {
#     huggingface = {
#       enable = true;            # place it in Hub caches (default: true for the Hugging Face layout)
#       org = "meta-llama";       # the folder's org (default, or null: from the source)
#       model = "Llama-2-7b-hf";  # the folder's name (default, or null: from the source, else `name`)
#     };
#     environment = { LLAMA_MODEL = "$out/snapshots"; };  # exported by wrappers and shells; $out = the model
#   };
{ utils }:
let
  inherit (builtins) isAttrs isBool isString all attrNames;
  ctx = "fetchModel";

  # One part of a Hub repo id (lib/utils.nix): the folder name (models--org--name) is
  # split at "--", so a part may not contain it.
  isRepoIdPart = utils.isHubRepoIdPart;

  isEnvironment = v: isAttrs v && all (n: utils.isEnvVarName n && isString v.${n}) (attrNames v);

  # huggingface_hub's repo_folder_name: "<type>s--<org>--<name>", or "<type>s--<name>" without an org.
  folderName = repoType: org: model: "${repoType}s--${if org == null then "" else "${org}--"}${model}";
in
{
  inherit folderName isRepoIdPart;

  # resolve { name; sourceType; info; integration; } → passthru.integration
  resolve = { name, sourceType, info, integration }:
    let
      i = utils.checkKnownAttrs ctx "integration." [ "huggingface" "environment" ]
        (utils.expect ctx "integration" "an attribute set" "{ huggingface.org = \"acme\"; }" isAttrs integration);
      hf = utils.checkKnownAttrs ctx "integration.huggingface." [ "enable" "org" "model" ]
        (utils.expect ctx "integration.huggingface" "an attribute set" "{ org = \"acme\"; model = \"tiny\"; }" isAttrs (i.huggingface or { }));
      layout = if sourceType == "ollama" then "ollama" else "huggingface";
      enable = utils.expect ctx "integration.huggingface.enable" "true or false" "true" isBool (hf.enable or (layout == "huggingface"));
      # null, as the original design writes the defaults out, means "from the source".
      given = option: if (hf.${option} or null) != null then hf.${option} else null;
      org = utils.expect ctx "integration.huggingface.org" "null or a Hub name (letters, digits, _ - .; no \"--\")" "\"acme\""
        (v: v == null || isRepoIdPart v) (if given "org" != null then given "org" else info.org or null);
      model = utils.expect ctx "integration.huggingface.model" "a Hub name (letters, digits, _ - .; no \"--\")" "\"tiny\""
        isRepoIdPart (if given "model" != null then given "model" else info.model or name);
      repoType = info.repoType or "model";
    in
    if enable && layout == "ollama" then
      utils.fail ctx ''integration.huggingface.enable = true does not fit model "${name}": an Ollama model has the Ollama layout (manifests/, blobs/), not a Hub cache folder. Use it through an OLLAMA_MODELS directory instead: nix-model-repo.lib.integration.mkOllamaModels pkgs { models = [ model ]; }''
    else
    {
      inherit layout;
      huggingface = {
        inherit enable org model repoType;
        # The revision the source asked for; mkHfHub gives its ref precedence when it merges folders.
        revision = info.revision or null;
        repoId = if org == null then model else "${org}/${model}";
        # The folder under HF_HUB_CACHE, honouring the org/model overrides; null for Ollama.
        folder = if layout == "huggingface" then folderName repoType org model else null;
      };
      ollama = if layout == "ollama" then info else null;
      environment = utils.expect ctx "integration.environment" "an attribute set of environment variables to strings" "{ MY_MODEL = \"$out\"; }"
        isEnvironment (i.environment or { });
    };
}
