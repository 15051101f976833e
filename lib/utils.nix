# Small helpers for checking user configuration with builtins only (docs/architecture.md:
# lib/ needs no nixpkgs lib). Every check throws a message that names the option and
# shows a correct example.
let
  inherit (builtins) attrNames concatStringsSep filter elem isAttrs isString isList isBool isInt isFloat isPath length head match toJSON typeOf stringLength substring;

  # "fetchModel: " prefix plus the message, so errors say which function complained.
  fail = context: message: throw "${context}: ${message}";

  # Closest known name by edit distance, to turn a typo into a suggestion.
  editDistance = a: b:
    let
      la = stringLength a;
      lb = stringLength b;
      charsOf = s: builtins.genList (i: substring i 1 s) (stringLength s);
      ca = charsOf a;
      cb = charsOf b;
      step = prev: i:
        builtins.foldl'
          (row: j:
            let
              cost = if builtins.elemAt ca (i - 1) == builtins.elemAt cb (j - 1) then 0 else 1;
              best = builtins.foldl' (x: y: if y < x then y else x) (builtins.elemAt prev j + 1) [
                (builtins.elemAt row (j - 1) + 1)
                (builtins.elemAt prev (j - 1) + cost)
              ];
            in row ++ [ best ])
          [ i ]
          (builtins.genList (j: j + 1) lb);
    in
    if la == 0 then lb else if lb == 0 then la
    else builtins.elemAt (builtins.foldl' step (builtins.genList (j: j) (lb + 1)) (builtins.genList (i: i + 1) la)) lb;

  suggestion = name: known:
    let
      scored = map (k: { inherit k; d = editDistance name k; }) known;
      best = builtins.foldl' (acc: x: if acc == null || x.d < acc.d then x else acc) null scored;
    in
    if best != null && best.d <= 2 then " Did you mean '${best.k}'?" else "";

  # Refuses attributes outside `known`, naming each and the closest known one.
  checkKnownAttrs = context: where: known: attrs:
    let unknown = filter (n: !(elem n known)) (attrNames attrs);
    in
    if unknown == [ ] then attrs
    else fail context "unknown option ${where}${head unknown}.${suggestion (head unknown) known} Known options of ${if where == "" then context else where}: ${concatStringsSep ", " known}.";

  describeValue = v:
    if isString v then "the string ${toJSON v}"
    else if isPath v then "the path ${toString v}"
    else if isAttrs v then "an attribute set"
    else if isList v then "a list"
    else "${typeOf v} ${toJSON v}";

  # expect context "network.timeout.connect" "a positive number of seconds" "30" isPositiveNumber value
  expect = context: option: requirement: example: predicate: value:
    if predicate value then value
    else fail context "${option} must be ${requirement}, but it is ${describeValue value}. Example: ${option} = ${example};";

  isNumber = v: isInt v || isFloat v;
  isPositiveNumber = v: isNumber v && v > 0;
  isNonNegativeNumber = v: isNumber v && v >= 0;
  isPositiveInt = v: isInt v && v > 0;
  isNonEmptyString = v: isString v && v != "";
  isStringOrNull = v: v == null || isNonEmptyString v;
  isStringListOrNull = v: v == null || (isList v && builtins.all isNonEmptyString v);
  isSriSha256 = v: isString v && match "sha256-[A-Za-z0-9+/]{43}=" v != null;
  isEnvVarName = v: isString v && match "[A-Za-z_][A-Za-z0-9_]*" v != null;

  # A store-name-safe string: what Nix accepts in derivation names.
  isStoreName = v: isString v && match "[A-Za-z0-9+_?=-][A-Za-z0-9+._?=-]*" v != null;

  # An absolute http(s) URL without credentials (they would be written into the .drv), as
  # the fetcher checks it (src/spec/url.ts). Endpoints, tracking URIs and clone URLs take
  # no query or fragment; a file's URL may carry a (signed) query.
  isHttpUrl = v: isString v && match "https?://[^@/?#]+(/[^?#]*)?" v != null;
  isFileUrl = v: isString v && match "https?://[^@/?#]+([/?][^#]*)?" v != null;

  # "a@b@c" → { before = "a@b"; after = "c"; } at the last `sep` (one character); null without one.
  splitLast = sep: s:
    let m = match "(.*)[${sep}]([^${sep}]*)" s;
    in if m == null then null else { before = head m; after = builtins.elemAt m 1; };

  toLower = builtins.replaceStrings
    [ "A" "B" "C" "D" "E" "F" "G" "H" "I" "J" "K" "L" "M" "N" "O" "P" "Q" "R" "S" "T" "U" "V" "W" "X" "Y" "Z" ]
    [ "a" "b" "c" "d" "e" "f" "g" "h" "i" "j" "k" "l" "m" "n" "o" "p" "q" "r" "s" "t" "u" "v" "w" "x" "y" "z" ];

  # POSIX single quotes ('it'\''s'), safe in bash and sh: for every command the library
  # prints or generates.
  escapeShellArg = s: "'" + builtins.replaceStrings [ "'" ] [ "'\\''" ] (toString s) + "'";

  # Hub repo ids as huggingface_hub's validate_repo_id (utils/_validators.py) takes them, in
  # the ASCII the Hub's own names use: [namespace/]name, each part letters, digits, _ . -
  # that starts and ends with a letter, digit or _, at most 96 characters; no "--" or ".."
  # (the cache folder models--org--name is split at "--"); not ending in ".git". The
  # fetcher checks the same (src/sources/huggingface/spec.ts); test/spec-values.json holds both to it.
  isHubRepoIdPart = v: isString v && match "[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?" v != null
    && match ".*(--|\\.\\.).*" v == null && stringLength v <= 96;
  isHubRepoId = v: isString v && match "([^/]+/)?[^/]+" v != null
    && builtins.all isHubRepoIdPart (filter isString (builtins.split "/" v)) && match ".*\\.git" v == null;
in
{
  inherit fail checkKnownAttrs expect editDistance suggestion describeValue;
  inherit isNumber isPositiveNumber isNonNegativeNumber isPositiveInt isNonEmptyString isStringOrNull
    isStringListOrNull isSriSha256 isEnvVarName isStoreName isHttpUrl isFileUrl escapeShellArg toLower splitLast;
  inherit isHubRepoIdPart isHubRepoId;

  # `a // b` recursively for nested option sets (defaults // user config).
  recursiveUpdate = let
    go = lhs: rhs:
      lhs // builtins.mapAttrs (n: v: if isAttrs v && isAttrs (lhs.${n} or null) && !(v ? type && v.type == "derivation") then go lhs.${n} v else v) rhs;
  in go;

  # Nix's "[A-Za-z0-9+-._?=]" store name alphabet; anything else becomes "-".
  sanitizeName = s:
    let
      chars = builtins.genList (i: substring i 1 s) (stringLength s);
      ok = c: match "[A-Za-z0-9+._?=-]" c != null;
    in
    concatStringsSep "" (map (c: if ok c then c else "-") chars);
}
