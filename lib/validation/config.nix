# fetchModel's `validation` option → the effective validation (passthru.validation):
#
#   validation = {
#     preset = "standard";      # the settings to start from (lib.validation.presets)
#     enable = true;            # false: no phase 2, the result is the raw download
#     defaults = {
#       scanner = true;         # the model scanner; or { failOn; warnOn; limits; } for other thresholds
#       modelscan = false;      # also run nixpkgs' modelscan (validators.modelscan)
#       pickleScan = true;      # the original design's name: the scanner, which reads every pickle
#       checksums = true;       # the original design's: satisfied by the fixed-output hash
#     };
#     skipDefaults = false;     # true: none of the defaults, only `validators`
#     validators = [ ];         # run after the defaults, in order
#     onFailure = "abort";      # for validators that do not set their own: abort | warn | skip
#     timeout = 300;            # seconds, for validators that do not set their own
#   };
#
# Everything not given comes from the preset (standard by default). `config` lists every
# validator that will run with its effective onFailure and timeout (none when disabled).
{ utils, presets, validators, normalize, onFailureValues }:
let
  inherit (builtins) isAttrs isBool isList attrNames elem concatStringsSep genList length elemAt filter head foldl';
  ctx = "fetchModel";
  known = [ "preset" "enable" "defaults" "skipDefaults" "validators" "onFailure" "timeout" ];
  knownDefaults = [ "scanner" "modelscan" "pickleScan" "checksums" ];
  presetNames = attrNames presets;

  # defaults.checksums, as the original design writes it: Nix already verifies every byte
  # of the download against the fixed-output hash (a wrong byte fails the build before
  # validation runs), so true is satisfied and false cannot be.
  checksumsBy = "the fixed-output hash: Nix verifies every byte of the download";
  checkChecksums = v:
    if v == true then checksumsBy
    else if v == false then utils.fail ctx "validation.defaults.checksums = false cannot turn off Nix's check of the fixed-output hash, which verifies every byte of the download before validation runs. Remove the option (true is accepted and always satisfied)."
    else utils.fail ctx "validation.defaults.checksums must be true (it is satisfied by the fixed-output hash), but it is ${utils.describeValue v}. Example: validation.defaults.checksums = true;";

  # defaults.pickleScan, the original design's pickle scanner, is the model scanner here: it
  # emulates the pickle machine in every file whatever its name (and checks the other
  # formats too). It decides the scanner when `scanner` is not given, and must agree with it
  # when it is.
  scannerFromPickleScan = defaults:
    let
      pickleScan = utils.expect ctx "validation.defaults.pickleScan" "true or false" "true" isBool defaults.pickleScan;
      scanner = defaults.scanner or null;
    in
    if scanner == null then pickleScan
    else if (scanner != false) == pickleScan then scanner
    else utils.fail ctx "validation.defaults.pickleScan = ${if pickleScan then "true" else "false"} contradicts validation.defaults.scanner = ${if scanner == false then "false" else "{ ... }"}: pickles are scanned by the model scanner, so the two are one switch here. Keep only validation.defaults.scanner.";

  # Fallbacks for a preset that does not say (`presets.none // { enable = true; }`).
  base = {
    enable = true;
    defaults = { scanner = presets.standard.defaults.scanner; modelscan = false; };
    skipDefaults = false;
    validators = [ ];
    onFailure = "abort";
    timeout = 300;
  };

  checkDefaults = d:
    let given = utils.checkKnownAttrs ctx "validation.defaults." knownDefaults (utils.expect ctx "validation.defaults" "an attribute set" "{ scanner = true; }" isAttrs d);
    in
    removeAttrs given [ "pickleScan" ]
    // (if given ? pickleScan then { scanner = scannerFromPickleScan given; } else { });

  # `defaults.scanner`: false, true (the preset's thresholds) or options merged over them.
  scannerSetting = presetScanner: user:
    if user == false then false
    else if user == true then presetScanner
    else if isAttrs user then (if isAttrs presetScanner then presetScanner else { }) // user
    else utils.fail ctx "validation.defaults.scanner must be true, false or the scanner's options, e.g. validation.defaults.scanner = { failOn = \"MALICIOUS\"; };";

  resolveValidator = global: v:
    v // {
      onFailure = if v.onFailure != null then v.onFailure else global.onFailure;
      onFailureFrom = if v.onFailure != null then "validator" else "global";
      timeout = if v.timeout != null then v.timeout else global.timeout;
      timeoutFrom = if v.timeout != null then "validator" else "global";
    };

  checkUniqueNames = vs:
    foldl'
      (seen: v:
        if elem v.name seen then
          utils.fail ctx "two validators are named \"${v.name}\"${if v.name == "scanner" || v.name == "modelscan" then " (validation.defaults.${v.name} already runs it: set it to false to list your own)" else ""}. Give one another name, e.g. (validators.custom { name = \"${v.name}-2\"; ... }) or (myValidator // { name = \"${v.name}-2\"; })."
        else seen ++ [ v.name ])
      [ ]
      vs;
in
{ validation }:
let
  user = utils.checkKnownAttrs ctx "validation." known
    (utils.expect ctx "validation" "an attribute set (e.g. a preset)" "lib.validation.presets.strict" isAttrs validation);
  presetName = utils.expect ctx "validation.preset" "one of ${concatStringsSep ", " (map (n: "\"${n}\"") presetNames)}" "\"strict\""
    (p: elem p presetNames) (user.preset or "standard");
  preset = presets.${presetName};

  merged = base // preset // user;
  enable = utils.expect ctx "validation.enable" "true or false" "false" isBool merged.enable;
  userDefaults = checkDefaults (user.defaults or { });
  presetDefaults = base.defaults // (preset.defaults or { });
  scanner = scannerSetting presetDefaults.scanner (userDefaults.scanner or true);
  checksums = if userDefaults ? checksums then checkChecksums userDefaults.checksums else checksumsBy;
  modelscan = utils.expect ctx "validation.defaults.modelscan" "true or false" "true" isBool (userDefaults.modelscan or presetDefaults.modelscan);
  skipDefaults = utils.expect ctx "validation.skipDefaults" "true or false" "true" isBool merged.skipDefaults;

  global = {
    onFailure = utils.expect ctx "validation.onFailure" "one of \"abort\", \"warn\", \"skip\"" "\"warn\"" (o: elem o onFailureValues) merged.onFailure;
    timeout = utils.expect ctx "validation.timeout" "a positive number of seconds" "600" utils.isPositiveNumber merged.timeout;
  };

  listed = utils.expect ctx "validation.validators" "a list of validators" "[ lib.validation.validators.noPickleFiles ]" isList merged.validators;
  fromDefaults =
    if skipDefaults then [ ]
    else (if scanner == false then [ ] else [ (normalize ctx "validation.defaults.scanner" (validators.scanner scanner) // { origin = "defaults.scanner"; }) ])
      ++ (if modelscan then [ (normalize ctx "validation.defaults.modelscan" validators.modelscan // { origin = "defaults.modelscan"; }) ] else [ ]);
  fromList = genList (i: normalize ctx "validation.validators[${toString i}]" (elemAt listed i) // { origin = "validators"; }) (length listed);
  all = map (resolveValidator global) (fromDefaults ++ fromList);
in
{
  # The effective validation: passthru.validation, and what phase 2 runs.
  config = {
    inherit enable skipDefaults;
    inherit (global) onFailure timeout;
    preset = presetName;
    # checksums says what satisfies it; pickleScan is the scanner (scanner reads every pickle).
    defaults = { inherit scanner modelscan checksums; pickleScan = scanner != false; };
    validators = if enable then all else [ ];
  };
  # Forced by fetchModel's drvPath/outPath, so every check above runs even when disabled.
  checked = builtins.seq checksums (builtins.seq (checkUniqueNames all) (builtins.all (v: builtins.seq v.name (builtins.seq v.onFailure (builtins.seq v.timeout true))) all));
}
