# The whole part of nixpkgs the library uses, in one place (docs/architecture.md, "Rules
# for the Nix side"). Anything that provides these attributes works as `pkgs`: real
# nixpkgs, or the stand-in under test/nix/ that the tests build with where no nixpkgs is
# at hand.
{ pkgs, fetcher ? null }:
{
  system = pkgs.stdenvNoCC.hostPlatform.system;

  # The one bundled Node fetcher every fixed-output derivation runs (package.nix).
  fetcher = if fetcher != null then fetcher else pkgs.callPackage ../package.nix { };

  # TLS roots for the fetcher: the same bundle nixpkgs' fetchers use.
  caBundle = "${pkgs.cacert}/etc/ssl/certs/ca-bundle.crt";

  # git for the git-lfs source (the fetcher runs it by this path: a fixed-output build has
  # no PATH). Only evaluated by models that use that source.
  git = "${pkgs.git}/bin/git";

  # For the integration helpers (lib/integration/): Hub caches and OLLAMA_MODELS
  # directories of symlinks, wrappers and link scripts. runCommandLocal: these builds only
  # make symlinks, so substituting them would cost more than building.
  runCommandLocal = pkgs.runCommandLocal;
  writeShellScriptBin = pkgs.writeShellScriptBin;
  writeShellScript = pkgs.writeShellScript;
  runtimeShell = pkgs.runtimeShell;

  # For shell validators (lib/validation/phase2.nix): bash runs them, and these tools are
  # on their PATH besides their own runtimeInputs (jq because scripts read config.json
  # with it, as the original design's examples do). Only evaluated when a model has one.
  bash = pkgs.bash;
  validatorTools = [ pkgs.coreutils pkgs.findutils pkgs.gnugrep pkgs.gnused pkgs.jq ];
  # nixpkgs' modelscan (pkgs/by-name/mo/modelscan), for validators.modelscan only:
  # evaluated by models that use it.
  modelscan = pkgs.modelscan;

  # nixpkgs' standard list (lib/fetchers.nix proxyImpureEnvVars), spelled out so lib/
  # needs no nixpkgs lib: the proxy variables, and NIX_SSL_CERT_FILE for the CA bundle
  # a TLS-intercepting proxy needs (the fetcher reads it before SSL_CERT_FILE).
  proxyImpureEnvVars = [
    "http_proxy" "https_proxy" "ftp_proxy" "all_proxy" "no_proxy"
    "HTTP_PROXY" "HTTPS_PROXY" "FTP_PROXY" "ALL_PROXY" "NO_PROXY"
    "NIX_SSL_CERT_FILE"
  ];
}
