# shellcheck shell=bash
# Build-time helper for mkOllamaModels (sourced by its builder; $out is OLLAMA_MODELS).
#
# Ollama reads manifests/<host>/<namespace>/<model>/<tag> and blobs/sha256-<hex>. The
# manifests (a few hundred bytes) are copied, so Ollama's glob over manifests/*/*/*/*
# sees plain files; the blobs are symlinks to the models' outputs, which Ollama opens
# through. Blob names are content digests, so one blob shared by two models is one file.

nmr_fail() {
  echo "mkOllamaModels: $*" >&2
  exit 1
}

# nmr_add_ollama_model MODEL
nmr_add_ollama_model() {
  local model=$1 manifest blob
  if [ ! -d "$model/manifests" ] || [ ! -d "$model/blobs" ]; then
    nmr_fail "$model is not an Ollama model directory: it needs manifests/ and blobs/." \
      "Hugging Face layout models belong in mkHfHub."
  fi
  while IFS= read -r -d '' manifest; do
    manifest=${manifest#./}
    if [ -e "$out/manifests/$manifest" ]; then
      cmp -s "$model/manifests/$manifest" "$out/manifests/$manifest" ||
        nmr_fail "two models provide manifests/$manifest with different content; keep one of them."
      continue
    fi
    mkdir -p "$(dirname "$out/manifests/$manifest")"
    cp "$model/manifests/$manifest" "$out/manifests/$manifest"
    chmod 0644 "$out/manifests/$manifest"
  done < <(cd "$model/manifests" && find -L . -type f -print0 | sort -z)
  while IFS= read -r -d '' blob; do
    blob=${blob#./}
    if [ ! -e "$out/blobs/$blob" ]; then ln -s "$model/blobs/$blob" "$out/blobs/$blob"; fi
  done < <(cd "$model/blobs" && find -L . -maxdepth 1 -type f -name 'sha256-*' -print0 | sort -z)
}
