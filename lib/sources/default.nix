# Every source fetchModel knows, by its attribute name under `source`.
{ utils }:
{
  huggingface = import ./huggingface.nix { inherit utils; };
  url = import ./http.nix { inherit utils; };
  "git-lfs" = import ./git-lfs.nix { inherit utils; };
  ollama = import ./ollama.nix { inherit utils; };
  s3 = import ./s3.nix { inherit utils; };
  mlflow = import ./mlflow.nix { inherit utils; };
}
