# lib.validation.presets: whole `validation` settings, as plain data, so a preset can be
# used as it is (`validation = presets.strict;`) or extended
# (`validation = presets.standard // { validators = [ (validators.maxSize "20G") ]; };`).
# Each names itself in `preset`, so `validation = { preset = "strict"; timeout = 900; }`
# means the same as `presets.strict // { timeout = 900; }`.
#
#   none      no phase 2: the result is the raw download
#   minimal   refuse content known to run code (scanner MALICIOUS); warn when a file cannot
#             be verified (INVALID)
#   standard  the default: refuse what runs code or cannot be verified (MALICIOUS, INVALID);
#             warn about what is unknown (WARN: custom classes, auto_map remote code, …)
#   strict    refuse anything not verified safe (scanner WARN), any pickle, weights that
#             are not safetensors, and a model with no declared licence
#   paranoid  strict, and no Python code or remote-code references at all
{ validators }:
let
  common = { enable = true; skipDefaults = false; onFailure = "abort"; };
in
{
  none = { preset = "none"; enable = false; };

  minimal = common // {
    preset = "minimal";
    defaults = { scanner = { failOn = "MALICIOUS"; warnOn = "INVALID"; }; modelscan = false; };
    validators = [ ];
    timeout = 300;
  };

  standard = common // {
    preset = "standard";
    defaults = { scanner = { failOn = "INVALID"; warnOn = "WARN"; }; modelscan = false; };
    validators = [ ];
    timeout = 300;
  };

  strict = common // {
    preset = "strict";
    defaults = { scanner = { failOn = "WARN"; warnOn = "WARN"; }; modelscan = false; };
    validators = [ validators.noPickleFiles validators.safetensorsOnly validators.licenseCheck ];
    timeout = 600;
  };

  paranoid = common // {
    preset = "paranoid";
    defaults = { scanner = { failOn = "WARN"; warnOn = "WARN"; }; modelscan = false; };
    validators = [ validators.noPickleFiles validators.safetensorsOnly validators.noPythonCode validators.licenseCheck ];
    timeout = 1200;
  };
}
