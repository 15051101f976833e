# The flake's checks (`nix flake check`): the integration helpers built from the bundled
# example repo folder (examples/hub/models--acme--tiny), then read back. Only `bash` and
# coreutils are needed, except `huggingface-hub-offline`, which runs the real
# huggingface_hub from nixpkgs with HF_HUB_OFFLINE=1. test/integration/*.test.ts runs the
# first two with the stand-in pkgs.
{ pkgs, nmr, package }:
let
  inherit (nmr.integration) mkHfHub mkModelWrapper;
  shell = import ../../lib/integration/shell.nix;

  tiny = { path = ../../examples/hub/models--acme--tiny; org = "acme"; model = "tiny"; };
  files = [ "README.md" "config.json" "model.safetensors" "tokenizer.json" "tokenizer_config.json" "2_Dense/config.json" ];
  hub = mkHfHub { models = [ tiny ]; name = "check-hf-hub"; };
  hook = nmr.mkShellHook { models = [ tiny ]; hub = hub; gcRootDir = null; quiet = true; };
  wrapper = mkModelWrapper { program = pkgs.runtimeShell; name = "sh-with-models"; hub = hub; models = [ tiny ]; };
in
{
  nix-model-repo = package;

  # refs/main → snapshots/<commit>/<file> → a regular file, for every file; the shell hook
  # and a wrapper export the hub and offline mode.
  integration = pkgs.runCommandLocal "check-integration" { } ''
    hub=${hub}
    commit=$(cat "$hub/models--acme--tiny/refs/main")
    [ "''${#commit}" = 40 ] || { echo "refs/main holds '$commit', not a commit" >&2; exit 1; }
    for file in ${toString (map shell.escapeShellArg files)}; do
      [ -f "$hub/models--acme--tiny/snapshots/$commit/$file" ] || { echo "$file does not resolve in $hub" >&2; exit 1; }
    done
    (
      eval ${shell.escapeShellArg hook}
      [ "$HF_HUB_CACHE" = "$hub" ] && [ "$HF_HUB_OFFLINE" = 1 ] && [ "$TRANSFORMERS_OFFLINE" = 1 ]
    ) || { echo "the shell hook does not export the hub and offline mode" >&2; exit 1; }
    [ "$(${wrapper}/bin/sh-with-models -c 'echo "$HF_HUB_CACHE $HF_HUB_OFFLINE"')" = "$hub 1" ] ||
      { echo "the wrapper does not export the hub and offline mode" >&2; exit 1; }
    touch "$out"
  '';

  huggingface-hub-offline = pkgs.runCommandLocal "check-huggingface-hub-offline"
    { nativeBuildInputs = [ (pkgs.python3.withPackages (ps: [ ps.huggingface-hub ])) ]; }
    ''
      export HOME="$TMPDIR" HF_HUB_CACHE=${hub} HF_HUB_OFFLINE=1
      python3 - ${toString (map shell.escapeShellArg files)} <<'PY'
      import sys
      from huggingface_hub import hf_hub_download, snapshot_download, scan_cache_dir
      snapshot = snapshot_download("acme/tiny")
      for name in sys.argv[1:]:
          path = hf_hub_download("acme/tiny", name)
          assert path.startswith(snapshot), (path, snapshot)
          open(path, "rb").read()
      report = scan_cache_dir()
      assert not report.warnings, report.warnings
      assert [repo.repo_id for repo in report.repos] == ["acme/tiny"], report.repos
      print("huggingface_hub found", len(sys.argv) - 1, "files offline in", snapshot)
      PY
      touch "$out"
    '';
}
