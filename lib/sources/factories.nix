# Source factories (lib.sources): functions that return a `source` attribute set for
# fetchModel, so an organisation's bucket, tracking server or registry is written once.
#
#   let sources = nix-model-repo.lib.sources; in
#   fetchModel { name = "phi-2"; source = sources.huggingface.microsoft "phi-2"; hash = "sha256-..."; }
{ }:
{
  huggingface = rec {
    # Any organisation: sources.huggingface.org "acme" "tiny"
    org = orgName: model: { huggingface.repo = "${orgName}/${model}"; };
    metaLlama = org "meta-llama";
    mistralai = org "mistralai";
    microsoft = org "microsoft";
    google = org "google";
  };

  ollama = {
    # sources.ollama.model "llama3.2:1b" (any name `ollama pull` takes)
    model = name: { ollama.model = name; };
  };
}
