# The dev shell's models: plain fetchModel configurations.
#
# hash = null until you prefetch: `nix develop` then stops with the exact command to run,
#   nix-model-repo prefetch hf:sentence-transformers/all-MiniLM-L6-v2@main --files ... 
# which downloads the model once, adds it to the store and prints its hash and commit.
# Paste the hash here, and pin `revision` to the commit it printed so the hash stays true
# when the branch moves. (This repository ships no hash it has not verified.)
{
  all-MiniLM-L6-v2 = {
    source.huggingface = {
      repo = "sentence-transformers/all-MiniLM-L6-v2";
      revision = "main";
      files = [
        "config.json" "config_sentence_transformers.json" "modules.json" "sentence_bert_config.json"
        "special_tokens_map.json" "tokenizer.json" "tokenizer_config.json" "vocab.txt"
        "1_Pooling/config.json" "model.safetensors"
      ];
    };
    hash = null;
  };

  gpt2 = {
    source.huggingface = {
      repo = "openai-community/gpt2";
      revision = "main";
      files = [ "config.json" "generation_config.json" "merges.txt" "vocab.json" "tokenizer.json" "tokenizer_config.json" "model.safetensors" ];
    };
    hash = null;
  };
}
