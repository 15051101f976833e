# modelDefs: a registry of well-known models as plain fetchModel configurations
# (system-agnostic, no derivations). The flake instantiates them as
# models.<system>.<org>.<name>; use one with your own hash, or extend it:
#
#   fetchModel (nix-model-repo.modelDefs.sentence-transformers.all-MiniLM-L6-v2 // {
#     hash = "sha256-...";       # from the prefetch command below
#   })
#
# hash = null: this repository ships no hash it has not verified, and none of these was
# prefetched where it was written. Such an entry is a placeholder in models.<system>
# (`unpinned = true`, `meta.broken = true`): nothing fetches it, and building it fails
# with the exact `nix-model-repo prefetch ...` command that gives the hash. With a hash,
# also pin `revision` to the commit prefetch reports, or the hash breaks when the branch moves.
#
# `files` keeps each entry to what transformers / sentence-transformers load, in
# safetensors (no pickles).
let
  hf = repo: files: description: {
    source.huggingface = { inherit repo files; };
    hash = null;
    meta = { inherit description; homepage = "https://huggingface.co/${repo}"; };
  };
  sentenceTransformerFiles = [
    "config.json" "config_sentence_transformers.json" "modules.json" "sentence_bert_config.json"
    "special_tokens_map.json" "tokenizer.json" "tokenizer_config.json" "vocab.txt"
    "1_Pooling/config.json" "model.safetensors"
  ];
in
{
  sentence-transformers.all-MiniLM-L6-v2 =
    hf "sentence-transformers/all-MiniLM-L6-v2" sentenceTransformerFiles "Sentence embeddings, 384 dimensions, 22M parameters";

  BAAI.bge-small-en-v1_5 =
    hf "BAAI/bge-small-en-v1.5" sentenceTransformerFiles "English text embeddings, 384 dimensions, 33M parameters";

  openai-community.gpt2 =
    hf "openai-community/gpt2" [ "config.json" "generation_config.json" "merges.txt" "vocab.json" "tokenizer.json" "tokenizer_config.json" "model.safetensors" ]
      "GPT-2 small, 124M parameters";

  Qwen.qwen2_5-0_5b-instruct =
    hf "Qwen/Qwen2.5-0.5B-Instruct" [ "*.json" "merges.txt" "vocab.json" "*.safetensors" ] "Qwen2.5 instruction-tuned chat model, 0.5B parameters";

  openai.whisper-tiny =
    hf "openai/whisper-tiny" [ "*.json" "*.txt" "model.safetensors" ] "Whisper speech recognition, tiny (39M parameters)";

  # Gated on the Hub: accept the licence there, and give the build a token (docs/authentication.md).
  meta-llama.llama-3_2-1b-instruct =
    hf "meta-llama/Llama-3.2-1B-Instruct" [ "*.json" "*.safetensors" ] "Llama 3.2 instruction-tuned, 1B parameters (gated)";

  # The two the original design's end-user example names (models.meta-llama.llama-2-7b,
  # models.mistralai.mistral-7b).
  meta-llama.llama-2-7b =
    hf "meta-llama/Llama-2-7b-hf" [ "*.json" "*.safetensors" "tokenizer.model" ] "Llama 2, 7B parameters (gated)";

  mistralai.mistral-7b =
    hf "mistralai/Mistral-7B-v0.1" [ "*.json" "*.safetensors" "tokenizer.model" ] "Mistral 7B v0.1, 7B parameters";

  ollama.llama3_2-1b = {
    source.ollama.model = "llama3.2:1b";
    hash = null;
    meta = { description = "Llama 3.2 1B for Ollama (GGUF)"; homepage = "https://ollama.com/library/llama3.2"; };
  };
}
