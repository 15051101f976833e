# shellcheck shell=bash
# Build-time helpers for mkHfHub (sourced by its builder; $out is the Hub cache).
#
# A repo folder that one model provides becomes a symlink to that model: the model's
# output *is* a Hub cache folder (blobs/, refs/, snapshots/), directly or through the
# validation phase's symlinks. A folder that several models provide (two revisions of
# one repo, or two file selections) is merged: real directories whose entries point into
# the models, laid out as huggingface_hub writes them, so every model's snapshot and ref
# resolve, and each commit's trees/<commit>.json. Nothing is copied but refs (40 bytes each).

nmr_fail() {
  echo "mkHfHub: $*" >&2
  exit 1
}

# nmr_check_folder FOLDER MODEL: the model must have the Hugging Face layout.
nmr_check_folder() {
  if [ ! -d "$2/snapshots" ]; then
    nmr_fail "$2 (for $1) is not a Hugging Face cache folder: it has no snapshots/ directory." \
      "Ollama models belong in mkOllamaModels; other directories need the blobs/ refs/ snapshots/ layout."
  fi
}

# nmr_link_folder FOLDER MODEL: the whole folder is the model.
nmr_link_folder() {
  nmr_check_folder "$1" "$2"
  ln -s "$2" "$out/$1"
}

# nmr_merge_snapshots DEST MODEL: every snapshot entry of MODEL under DEST/snapshots.
# Pointers keep their relative ../../blobs/<etag> target; DEST/blobs/<etag> links to the
# model's blob. An entry already there (same commit, same path) is the same file.
nmr_merge_snapshots() {
  local dest=$1 model=$2 entry link blob
  while IFS= read -r -d '' entry; do
    entry=${entry#./}
    if [ -e "$dest/snapshots/$entry" ] || [ -L "$dest/snapshots/$entry" ]; then continue; fi
    mkdir -p "$(dirname "$dest/snapshots/$entry")"
    link=
    if [ -L "$model/snapshots/$entry" ]; then link=$(readlink "$model/snapshots/$entry"); fi
    case "$link" in
      ../*blobs/*)
        blob=${link##*/}
        if [ ! -e "$dest/blobs/$blob" ]; then ln -s "$model/blobs/$blob" "$dest/blobs/$blob"; fi
        ln -s "$link" "$dest/snapshots/$entry"
        ;;
      *)
        # Not the usual relative pointer: point at the model's entry itself.
        ln -s "$model/snapshots/$entry" "$dest/snapshots/$entry"
        ;;
    esac
    if [ ! -e "$dest/snapshots/$entry" ]; then
      nmr_fail "snapshots/$entry of $model does not resolve once merged (its pointer is $link)."
    fi
  done < <(cd "$model/snapshots" && find . \( -type l -o -type f \) -print0)
}

# nmr_merge_trees DEST MODEL: each commit's tree listing (trees/<commit>.json), which
# huggingface_hub >= 1.22 needs to load a pinned commit offline.
nmr_merge_trees() {
  local dest=$1 model=$2 tree
  [ -d "$model/trees" ] || return 0
  mkdir -p "$dest/trees"
  for tree in "$model"/trees/*.json; do
    [ -e "$tree" ] || continue
    [ -e "$dest/trees/${tree##*/}" ] || ln -s "$tree" "$dest/trees/${tree##*/}"
  done
}

# nmr_copy_ref DEST MODEL REF MODE: MODE "asked" fails on a conflict, "other" keeps the first.
nmr_copy_ref() {
  local dest=$1 model=$2 ref=$3 mode=$4
  if [ -e "$dest/refs/$ref" ]; then
    if [ "$mode" = asked ] && ! cmp -s "$dest/refs/$ref" "$model/refs/$ref"; then
      nmr_fail "two models of $(basename "$dest") were fetched at revision '$ref' but resolved to" \
        "different commits ($(cat "$dest/refs/$ref") and $(cat "$model/refs/$ref"))." \
        "Pin one of them to its commit (source.huggingface.revision = \"<40-hex commit>\")."
    fi
    return 0
  fi
  mkdir -p "$(dirname "$dest/refs/$ref")"
  cp "$model/refs/$ref" "$dest/refs/$ref"
  chmod 0644 "$dest/refs/$ref"
}

# nmr_merge_folder FOLDER REVISION1 MODEL1 REVISION2 MODEL2 ...
# A model's own revision (the one its source asked for) names its ref first; refs a
# model only implies (refs/main, written when it was fetched at a tag) go to the first
# model listed that has them.
nmr_merge_folder() {
  local folder=$1 dest="$out/$1" i ref model
  shift
  local args=("$@")
  mkdir -p "$dest/blobs" "$dest/refs" "$dest/snapshots"
  for ((i = 0; i < ${#args[@]}; i += 2)); do
    model=${args[i + 1]}
    nmr_check_folder "$folder" "$model"
    nmr_merge_snapshots "$dest" "$model"
    nmr_merge_trees "$dest" "$model"
  done
  for ((i = 0; i < ${#args[@]}; i += 2)); do
    ref=${args[i]}
    model=${args[i + 1]}
    if [ -n "$ref" ] && [ -f "$model/refs/$ref" ]; then nmr_copy_ref "$dest" "$model" "$ref" asked; fi
  done
  for ((i = 0; i < ${#args[@]}; i += 2)); do
    model=${args[i + 1]}
    [ -d "$model/refs" ] || continue
    while IFS= read -r -d '' ref; do
      nmr_copy_ref "$dest" "$model" "${ref#./}" other
    done < <(cd "$model/refs" && find -L . -type f -print0 | sort -z)
  done
}
