# Every source fetchModel knows, by its attribute name under `source`.
{ utils }:
let
  gitLfs = import ./git-lfs.nix { inherit utils; };
in
{
  huggingface = import ./huggingface.nix { inherit utils; };
  url = import ./http.nix { inherit utils; };
  "git-lfs" = gitLfs;
  "git-xet" = import ./git-xet.nix { inherit utils gitLfs; };
  ollama = import ./ollama.nix { inherit utils; };
  s3 = import ./s3.nix { inherit utils; };
  mlflow = import ./mlflow.nix { inherit utils; };
}
