# lib.integration: from store paths to what programs expect (docs/architecture.md, "Phases"), one function
# per file:
#
#   mkHfHub         a Hub cache directory (HF_HUB_CACHE) of models and datasets
#   mkOllamaModels  an OLLAMA_MODELS directory of Ollama models
#   mkEnvironment   the environment variables for both, and what to root
#   mkShellHook     a dev shell's shellHook: exports, offline mode, GC roots
#   mkHfSymlinks    a program linking models into ~/.cache/huggingface/hub without clobbering
#   mkModelWrapper  a program wrapped with those variables
#   describeModel   what the others read from a model (folder, layout, environment)
#
# Each takes models as fetchModel results or records { drv | path; org; model; ... }.
{ surface, utils }:
let
  shell = import ./shell.nix;
  integrationConfig = import ./config.nix { inherit utils; };
  describeModel = import ./describeModel.nix { inherit utils integrationConfig; };
  mkHfHub = import ./mkHfHub.nix { inherit surface describeModel shell; };
  mkOllamaModels = import ./mkOllamaModels.nix { inherit surface describeModel shell; };
  mkEnvironment = import ./mkEnvironment.nix { inherit utils describeModel mkHfHub mkOllamaModels; };
  mkHfSymlinks = import ./mkHfSymlinks.nix { inherit surface shell utils mkHfHub; };
  mkShellHook = import ./mkShellHook.nix { inherit shell mkEnvironment mkHfSymlinks; };
  mkModelWrapper = import ./mkModelWrapper.nix { inherit surface shell mkEnvironment; };
in
{
  inherit mkHfHub mkOllamaModels mkEnvironment mkShellHook mkHfSymlinks mkModelWrapper describeModel;
}
