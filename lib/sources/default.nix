# Every source fetchModel knows, by its attribute name under `source`.
{ utils }:
{
  huggingface = import ./huggingface.nix { inherit utils; };
}
