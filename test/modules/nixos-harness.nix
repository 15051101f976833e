# Evaluates modules/nixos.nix with the real nixpkgs `lib` (NIXPKGS_LIB) and small stubs
# that declare the NixOS options the module sets, with the types and merge behaviour
# NixOS gives them (nixos/modules/...: tmpfiles, environment, nix.settings, systemd unit
# options, users.groups, system.extraDependencies, warnings, services.ollama).
# `pkgs` is the stand-in (test/nix/pkgs.nix), so the module's default package is the
# checkout's bundle.
{ nixpkgsLib, configuration, withOllamaService ? false }:
let
  lib = import nixpkgsLib;
  inherit (lib) mkOption types;
  pkgs = import ../nix/pkgs.nix { };

  # nixos/lib/systemd-unit-options.nix `unitOption`: lists concatenate, scalars must agree.
  unitOption = lib.mkOptionType {
    name = "systemd option";
    merge = loc: defs:
      let defs' = lib.filterOverrides defs; in
      if lib.any (def: lib.isList def.value) defs'
      then lib.concatMap (def: lib.toList def.value) defs'
      else lib.mergeEqualOption loc defs';
  };

  stubs = {
    options = {
      systemd.tmpfiles.rules = mkOption { type = types.listOf types.str; default = [ ]; };
      systemd.services = mkOption {
        type = types.attrsOf (types.submodule {
          options.serviceConfig = mkOption { type = types.attrsOf unitOption; default = { }; };
          options.environment = mkOption { type = types.attrsOf types.str; default = { }; };
        });
        default = { };
      };
      environment.variables = mkOption { type = types.attrsOf (types.either types.str (types.listOf types.str)); default = { }; };
      nix.settings = mkOption {
        type = types.submodule {
          freeformType = types.attrsOf types.anything;
          options.extra-sandbox-paths = mkOption { type = types.listOf types.str; default = [ ]; };
        };
        default = { };
      };
      users.groups = mkOption {
        type = types.attrsOf (types.submodule { options.members = mkOption { type = types.listOf types.str; default = [ ]; }; });
        default = { };
      };
      system.extraDependencies = mkOption { type = types.listOf types.pathInStore; default = [ ]; };
      warnings = mkOption { type = types.listOf types.str; default = [ ]; };
    };
  };

  # nixos/modules/services/misc/ollama.nix, the two options the module may set.
  ollamaStub = {
    options.services.ollama = {
      models = mkOption { type = types.str; default = "/var/lib/ollama/models"; };
      environmentVariables = mkOption { type = types.attrsOf types.str; default = { }; };
    };
  };

  eval = lib.evalModules {
    modules = [ ../../modules/nixos.nix stubs configuration { _module.args.pkgs = pkgs; } ]
      ++ lib.optional withOllamaService ollamaStub;
  };
in
eval.config
