# lib.validation.validators: the built-in validators, as plain data (no pkgs needed).
# Each decides something Nix does not already guarantee; the FOD hash already pins every
# byte, so there is no checksum validator (docs/validation.md explains what is left out).
#
#   validators.scanner                       the model scanner (what defaults.scanner runs)
#   validators.scanner { failOn = "WARN"; }  … with other thresholds
#   validators.noPickleFiles                 no file a loader would unpickle, by content
#   validators.safetensorsOnly               weights only as safetensors, by content and name
#   validators.noPythonCode                  no Python files, scripts or bytecode; no auto_map
#   validators.maxSize "20G"                 the model (distinct blobs) at most this big
#   validators.requiredFiles [ "config.json" "*.safetensors" ]
#   validators.validJson [ "config.json" "tokenizer*.json" ]
#   validators.licenseCheck                  a licence must be declared
#   validators.licenseCheck { allow = [ "apache-2.0" "mit" ]; }
#   validators.custom { name; script; onFailure ? null; timeout ? null; runtimeInputs ? [ ]; }
#   validators.modelscan                     nixpkgs' modelscan (optional)
{ utils, size, mkValidator }:
let
  inherit (builtins) isList isString all concatStringsSep toJSON;

  builtin = { name, check, description, expr, params ? { } }: {
    _type = "nix-model-repo-validator";
    inherit name check params description expr;
    command = null;
    runtimeInputs = [ ];
    pkgsInputs = [ ];
    onFailure = null;
    timeout = null;
  };

  # A validator that is also a function of its options: `validators.x` or `validators.x { ... }`.
  withOptions = make: make { } // { __functor = _: make; };

  checkOptions = fn: known: args: utils.checkKnownAttrs "validators.${fn}" "" known
    (utils.expect "validators.${fn}" "the argument" "an attribute set" "{ }" builtins.isAttrs args);

  verdicts = [ "WARN" "INVALID" "MALICIOUS" ];
  expectVerdict = option: allowNull: v:
    utils.expect "validators.scanner" option "one of \"WARN\", \"INVALID\", \"MALICIOUS\"${if allowNull then " or null" else ""}" "\"MALICIOUS\""
      (x: builtins.elem x verdicts || (allowNull && x == null)) v;

  pathList = fn: files:
    utils.expect "validators.${fn}" "the argument" "a list of paths or patterns (relative to the model, * matches across /)" "[ \"config.json\" \"*.safetensors\" ]"
      (l: isList l && l != [ ] && all utils.isNonEmptyString l) files;

  nixList = l: "[ ${concatStringsSep " " (map toJSON l)} ]";

  scanner = args:
    let
      o = checkOptions "scanner" [ "failOn" "warnOn" "limits" ] args;
      failOn = expectVerdict "failOn" false (o.failOn or "INVALID");
      warnOn = expectVerdict "warnOn" true (o.warnOn or "WARN");
      limits = utils.expect "validators.scanner" "limits" "an attribute set of scanner limits (docs/scan.md)" "{ maxPickleOpcodes = 20000000; }"
        (l: builtins.isAttrs l && all (n: utils.isPositiveInt l.${n}) (builtins.attrNames l)) (o.limits or { });
    in
    builtin {
      name = "scanner";
      check = "scanner";
      description = "the model scanner (fails at ${failOn}${if warnOn == null then "" else ", warns at ${warnOn}"})";
      params = { inherit failOn warnOn limits; };
      expr = if args == { } then "validators.scanner"
        else "validators.scanner { failOn = ${toJSON failOn}; warnOn = ${if warnOn == null then "null" else toJSON warnOn}; }";
    };

  licenseCheck = args:
    let
      o = checkOptions "licenseCheck" [ "allow" ] args;
      allow = utils.expect "validators.licenseCheck" "allow" "null or a non-empty list of licence identifiers as the Hub names them" "[ \"apache-2.0\" \"mit\" ]"
        (l: l == null || (isList l && l != [ ] && all utils.isNonEmptyString l)) (o.allow or null);
    in
    builtin {
      name = "license-check";
      check = "licenseCheck";
      description = if allow == null then "a licence must be declared" else "the licence must be one of ${concatStringsSep ", " allow}";
      params = { inherit allow; };
      expr = if allow == null then "validators.licenseCheck" else "validators.licenseCheck { allow = ${nixList allow}; }";
    };
in
{
  scanner = withOptions scanner;

  noPickleFiles = builtin {
    name = "no-pickle";
    check = "noPickleFiles";
    description = "no file a loader would unpickle (decided by content)";
    expr = "validators.noPickleFiles";
  };

  safetensorsOnly = builtin {
    name = "safetensors-only";
    check = "safetensorsOnly";
    description = "weights only as safetensors";
    expr = "validators.safetensorsOnly";
  };

  noPythonCode = builtin {
    name = "no-python-code";
    check = "noPythonCode";
    description = "no Python code in the model and no auto_map";
    expr = "validators.noPythonCode";
  };

  maxSize = limit:
    let bytes = size.parse "validators.maxSize" limit;
    in
    builtin {
      name = "max-size-${limit}";
      check = "maxSize";
      description = "the model is at most ${limit}";
      params = { inherit limit bytes; };
      expr = "validators.maxSize ${toJSON limit}";
    };

  requiredFiles = files: builtin {
    name = "required-files";
    check = "requiredFiles";
    description = "required files are present";
    params.files = pathList "requiredFiles" files;
    expr = "validators.requiredFiles ${nixList files}";
  };

  validJson = files: builtin {
    name = "valid-json";
    check = "validJson";
    description = "files parse as JSON";
    params.files = pathList "validJson" files;
    expr = "validators.validJson ${nixList files}";
  };

  licenseCheck = withOptions licenseCheck;

  # The original design's inline validator: a bash script; its exit status decides.
  custom = args:
    let
      o = checkOptions "custom" [ "name" "script" "description" "onFailure" "timeout" "runtimeInputs" ] args;
      script = utils.expect "validators.custom" "script" "a bash script (a string)" "\"test -f \\\"$src/config.json\\\"\"" isString (o.script or null);
    in
    mkValidator ({
      name = o.name or (utils.fail "validators.custom" "name is missing. Example: validators.custom { name = \"has-config\"; script = \"test -f $src/config.json\"; }");
      command = script;
      description = o.description or "custom validator ${o.name}";
    } // builtins.intersectAttrs { onFailure = null; timeout = null; runtimeInputs = null; } o);

  # protectai/modelscan from nixpkgs (pkgs.modelscan), for those who want a
  # second opinion. Its exit status: 0 no issues, 1 issues found, 2 scan error, 3 no
  # file it supports (nothing to scan: passes), 4 usage error.
  modelscan = {
    _type = "nix-model-repo-validator";
    name = "modelscan";
    description = "protectai modelscan (nixpkgs modelscan)";
    check = null;
    params = { };
    runtimeInputs = [ ];
    pkgsInputs = [ "modelscan" ];
    onFailure = null;
    timeout = null;
    expr = "validators.modelscan";
    command = ''
      status=0
      modelscan --path "$src" || status=$?
      case $status in
        0) ;;
        3) echo "modelscan: no file it supports, nothing to scan" ;;
        1) printf '%s\n' "modelscan found unsafe content (its report is in the log above)" >> "$NMR_FINDINGS"; exit 1 ;;
        *) printf '%s\n' "modelscan could not scan the model (status $status, see the log above)" >> "$NMR_FINDINGS"; exit 1 ;;
      esac
    '';
  };

  # In the original design; left out on purpose (docs/validation.md): nothing to verify against.
  signatureVerify = throw "lib.validation.validators.signatureVerify does not exist: Hugging Face, Ollama and S3 models carry no signatures to check, and a validator that only looks for a file would pass everything. The fixed-output hash already pins every byte you pinned; see docs/validation.md.";
}
