# Evaluates modules/home-manager.nix inside Home Manager's own modules (HOME_MANAGER: a
# checkout): home-environment.nix and files.nix declare home.file, home.sessionVariables,
# home.packages and home.extraDependencies exactly as Home Manager does, with `lib.hm`
# from its stdlib-extended.nix over the real nixpkgs lib (NIXPKGS_LIB). `pkgs` is the
# stand-in, so `home-files` (Home Manager's builder of the linked files) really builds.
#
# _module.check = false: home-environment.nix also sets options of modules not loaded here
# (programs.bash, ...). The tests read every value this module sets at its exact option
# path, so a misspelt option of ours would still fail them.
{ nixpkgsLib, homeManager, configuration, withOllamaService ? false }:
let
  lib = import (homeManager + "/modules/lib/stdlib-extended.nix") (import nixpkgsLib);
  inherit (lib) mkOption types;
  standIn = import ../nix/pkgs.nix { };
  # What home-files' builder lists besides runCommandLocal; lndir only serves recursive files.
  pkgs = standIn // { lndir = standIn.runCommand "lndir-unused" { } "mkdir $out"; };

  eval = lib.evalModules {
    modules = [
      (homeManager + "/modules/home-environment.nix")
      (homeManager + "/modules/files.nix")
      (homeManager + "/modules/misc/submodule-support.nix")
      (homeManager + "/modules/misc/version.nix")
      (homeManager + "/modules/misc/lib.nix")
      ../../modules/home-manager.nix
      {
        # nixpkgs' assertions.nix and meta.nix, which Home Manager loads from nixpkgs.
        options.assertions = mkOption { type = types.listOf types.unspecified; default = [ ]; };
        options.warnings = mkOption { type = types.listOf types.str; default = [ ]; };
        options.meta = mkOption { type = types.attrsOf types.unspecified; default = { }; };
        config = {
          _module.args.pkgs = pkgs;
          _module.check = false;
          home.username = "alice";
          home.homeDirectory = "/home/alice";
          home.profileDirectory = "/home/alice/.nix-profile";
          home.stateVersion = "25.05";
          # Home Manager compares its release with pkgs.lib's; the stand-in has no nixpkgs release.
          home.enableNixpkgsReleaseCheck = false;
        };
      }
      configuration
    ] ++ lib.optional withOllamaService (homeManager + "/modules/services/ollama.nix");
  };
in
eval.config
