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
# lib/model.nix has what fromLock shares with it.
{ utils, sources, surface }:
let
  inherit (builtins) toJSON;
  ctx = "fetchModel";
  model = import ./model.nix { inherit utils sources surface; };
  modelSource = import ./model-source.nix { inherit utils sources; };
  inherit (modelSource) prefetchCommand fakeHash;
  storeNames = import ./store-names.nix;

  checkHash = name: sourceSpec: adapter: hash:
    if hash == null || hash == "" then
      utils.fail ctx ''hash is missing for model "${name}". Get it with:
    ${prefetchCommand name sourceSpec adapter}
  and set hash = "sha256-..."; (or hash = "${fakeHash}"; and read the right one from the build error).''
    else utils.expect ctx "hash" "an SRI sha256 hash" "\"sha256-2kXl3yJh7rOqFyA5Pbgo1Yp7b4Y4wq0lU6r1t9m2X8E=\"" utils.isSriSha256 hash;
in
args:
let
  prepared = model.prepare ctx args;
  inherit (prepared) name;
  hash = checkHash name prepared.sourceSpec prepared.picked.adapter (prepared.config.hash or null);

  raw = prepared.fixedOutput {
    # A pure function of `name` (docs/prefetch.md): `prefetch` adds its result under this name.
    name = storeNames.raw name;
    spec = toJSON prepared.spec;
    outputHashMode = "recursive";
    outputHash = hash;
  };
in
model.finish { inherit prepared raw; }
