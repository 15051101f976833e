# The validation phase (docs/validation.md), one concern per file:
#
#   validators.nix    lib.validation.validators: the built-in validators (plain data)
#   presets.nix       lib.validation.presets: none, minimal, standard, strict, paranoid
#   mk-validator.nix  mkValidator and the one shape every validator has
#   config.nix        fetchModel's `validation` option → the validators that will run
#   size.nix          "20G" → bytes, for maxSize
#   phase2.nix        the phase-2 derivation
#
# presets, validators and mkValidator need no pkgs (the flake exports them as they are);
# phase2 takes the pkgs surface.
{ utils }:
let
  size = import ./size.nix { inherit utils; };
  shape = import ./mk-validator.nix { inherit utils; };
  validators = import ./validators.nix { inherit utils size; inherit (shape) mkValidator; };
  presets = import ./presets.nix { inherit validators; };
in
{
  inherit presets validators;
  inherit (shape) mkValidator;

  # { validation; } → { config (passthru.validation); checked (force to check it all); }
  resolve = import ./config.nix { inherit utils presets validators; inherit (shape) normalize onFailureValues; };

  # surface → { name; raw; validation; } → the phase-2 derivation.
  phase2 = surface: import ./phase2.nix { inherit surface; };
}
