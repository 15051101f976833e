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

  # An organisation's bucket, written once:
  #   s3 = sources.mkS3 { bucket = "models"; endpoint = "https://minio.example:9000"; };
  #   source = s3 { prefix = "llama/7b"; files = [ "*.safetensors" ]; };
  mkS3 = { bucket, region ? null, endpoint ? null }:
    { prefix, files ? null }:
    { s3 = { inherit bucket region endpoint prefix files; }; };

  # A tracking server, written once; exactly one of version, stage and alias:
  #   registry = sources.mkMlflow { trackingUri = "https://mlflow.example"; };
  #   source = registry { modelName = "churn"; alias = "champion"; };
  mkMlflow = { trackingUri }:
    { modelName, version ? null, stage ? null, alias ? null }:
    { mlflow = { inherit trackingUri modelName; modelVersion = version; modelStage = stage; modelAlias = alias; }; };

  ollama = {
    # sources.ollama.model "llama3.2:1b" (any name `ollama pull` takes)
    model = name: { ollama.model = name; };
  };
}
