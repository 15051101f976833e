# Source factories (lib.sources): functions that return a `source` attribute set for
# fetchModel, so an organisation's bucket, tracking server or registry is written once.
#
#   let sources = nix-model-repo.lib.sources; in
#   fetchModel { name = "phi-2"; source = sources.huggingface.microsoft "phi-2"; hash = "sha256-..."; }
{ }:
let
  # "https://host/a/" + "/b" → "https://host/a/b"
  trimEnd = s: let m = builtins.match "(.*[^/])/*" s; in if m == null then s else builtins.head m;
  trimStart = s: let m = builtins.match "/*(.*)" s; in builtins.head m;
  joinUrl = base: path: "${trimEnd base}/${trimStart path}";
in
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

  # A file server, written once; each file pinned by its sha256:
  #   files = sources.mkHttp { baseUrl = "https://models.example/tiny"; };
  #   source = files { path = "model.safetensors"; sha256 = "9f86d0...0a08"; };
  # Without sha256 (as the original design writes it), fetchModel stops and prints the
  # prefetch command that gives it.
  mkHttp = { baseUrl }:
    { path, sha256 ? null, filename ? null }:
    { url.urls = [ { url = joinUrl baseUrl path; inherit sha256 filename; } ]; };

  # A git host with Git LFS, written once; `files` are git-lfs include patterns (lfsFiles):
  #   hub = sources.mkGitLfs { baseUrl = "https://huggingface.co"; };
  #   source = hub { repo = "acme/tiny"; rev = "<40-hex commit>"; files = [ "*.safetensors" ]; };
  mkGitLfs = { baseUrl }:
    { repo, rev, files ? null }:
    { "git-lfs" = { url = joinUrl baseUrl repo; inherit rev; lfsFiles = files; }; };

  # Xet storage behind git repositories (git-xet), its CAS written once; `files` are git-lfs
  # include patterns. endpoint = null takes the CAS the LFS server names:
  #   xet = sources.mkGitXet { endpoint = "https://cas-server.xethub.hf.co"; };
  #   source = xet { url = "https://huggingface.co/acme/tiny"; rev = "<40-hex commit>"; files = [ "*.safetensors" ]; };
  mkGitXet = { endpoint }:
    { url, rev, files ? null }:
    { "git-xet" = { inherit url rev files; xet = { inherit endpoint; }; }; };

  ollama = {
    # sources.ollama.model "llama3.2:1b" (any name `ollama pull` takes)
    model = name: { ollama.model = name; };
  };
}
