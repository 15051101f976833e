# source.url: files on plain HTTP(S) servers, each pinned by its sha256. docs/sources/http.md.
#
#   source.url = {
#     urls = [
#       { url = "https://example.org/models/tiny/model.safetensors"; sha256 = "9f86d0...0a08"; }
#       { url = "https://example.org/get?id=7"; filename = "config.json"; sha256 = "sha256-n4bQ...="; }
#     ];
#     unpack = false;   # true: every file is a .tar, .tar.gz/.tgz or .zip, unpacked into the model
#   };
#
# sha256 is 64 hex digits, SRI ("sha256-...") or nix32 (what nix-prefetch-url prints).
# filename (default: the URL's last path segment) is the file's path in the model; it
# may name a folder too ("onnx/model.onnx"). A token (auth.tokenFile / auth.tokenEnvVar)
# is sent as a Bearer token to each URL's own host only.
{ utils }:
let
  inherit (builtins) match concatStringsSep filter split isString isList isAttrs isBool length head elemAt genList all;
  ctx = "fetchModel";
  opt = name: "source.url.${name}";

  archiveSuffixes = [ ".tar" ".tar.gz" ".tgz" ".zip" ];
  exampleUrls = ''[ { url = "https://example.org/model.safetensors"; sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"; } ]'';

  isSha256 = v: isString v && (match "[0-9a-fA-F]{64}" v != null || match "sha256-[A-Za-z0-9+/]{43}=" v != null || match "[0-9a-df-np-sv-z]{52}" v != null);
  # A relative path of plain segments (the fetcher checks it again).
  isFilename = v: v == null || (isString v && match "/.*" v == null && match ".*[\\\\].*" v == null
    && all (seg: seg != "" && seg != "." && seg != "..") (filter isString (split "/" v)));

  # The URL's last path segment, query dropped: the default name (the fetcher also percent-decodes it).
  urlName = url:
    let
      path = head (filter isString (split "[?]" url));
      parts = filter isString (split "/" path);
    in
    elemAt parts (length parts - 1);
  fileName = u: if (u.filename or null) != null then u.filename else urlName u.url;
  isArchiveName = n: match ".*\\.([Tt][Aa][Rr]|[Tt][Aa][Rr]\\.[Gg][Zz]|[Tt][Gg][Zz]|[Zz][Ii][Pp])" n != null;
  # "bert.tar.gz" → "bert", "model.safetensors" → "model" (the same rule as `prefetch url:`).
  stem = n:
    let
      targz = match "(.+)\\.[Tt][Aa][Rr]\\.[Gg][Zz]" n;
      other = match "(.+)\\.[A-Za-z0-9]+" n;
    in
    if targz != null then head targz else if other != null then head other else n;


  checkEntry = unpack: index: entry:
    let
      where = "${opt "urls"}.${toString index}";
      e = utils.checkKnownAttrs ctx "${where}." [ "url" "sha256" "filename" ]
        (utils.expect ctx where "an attribute set { url; sha256; filename ? null; }" ''{ url = "https://example.org/model.safetensors"; sha256 = "..."; }'' isAttrs entry);
      url = utils.expect ctx "${where}.url" "an http(s) URL without credentials or fragment" "\"https://example.org/model.safetensors\"" utils.isFileUrl (e.url or null);
      checked = {
        inherit url;
        sha256 =
          if (e.sha256 or null) == null then
            utils.fail ctx "${where}.sha256 is missing: every file is pinned by its sha256. Get it with: nix-model-repo prefetch ${utils.escapeShellArg "url:${url}"} (it prints the sha256 and the hash), then set ${where}.sha256 = \"<the sha256>\";"
          else utils.expect ctx "${where}.sha256" "a sha256: 64 hex digits, \"sha256-<base64>\" or nix32 (get it with: nix-model-repo prefetch url:<URL>)" "\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"" isSha256 e.sha256;
        filename = utils.expect ctx "${where}.filename" "null or a relative path (no leading \"/\", no \"..\")" "\"model.safetensors\"" isFilename (e.filename or null);
      };
      name = fileName checked;
    in
    if name == "" then
      utils.fail ctx "${where}.url ends in \"/\", so it names no file: set ${where}.filename. Example: { url = \"${checked.url}\"; filename = \"model.safetensors\"; sha256 = \"...\"; }"
    else if unpack && !(isArchiveName name) then
      utils.fail ctx "${opt "unpack"} = true, but ${where} (\"${name}\") is not a ${concatStringsSep ", " archiveSuffixes} archive. Unpack only archives, or set ${where}.filename to the archive's real name."
    else checked;
in
rec {
  known = [ "urls" "unpack" ];

  toSpec = cfg:
    let
      c = utils.checkKnownAttrs ctx "source.url." known cfg;
      unpack = utils.expect ctx (opt "unpack") "true or false" "false" isBool (c.unpack or false);
      urls = utils.expect ctx (opt "urls") "a non-empty list of { url; sha256; filename ? null; }" exampleUrls (v: isList v && v != [ ]) (c.urls or null);
    in
    {
      type = "url";
      urls = genList (i: checkEntry unpack i (elemAt urls i)) (length urls);
      inherit unpack;
    };

  # A token comes only from auth.tokenEnvVar (fetchModel adds it) or auth.tokenFile.
  impureEnvVars = [ ];

  defaultName = spec: utils.sanitizeName (stem (fileName (head spec.urls)));

  # One URL: prefetch prints the sha256 and the hash. Several: the fake hash (below it in the message) is the way.
  prefetchCommand = spec:
    concatStringsSep " " ([ "nix-model-repo prefetch" (utils.escapeShellArg "url:${(head spec.urls).url}") ]
      ++ (if spec.unpack then [ "--unpack" ] else [ ]))
    + (if length spec.urls > 1 then "   (that is for the first file alone; with ${toString (length spec.urls)} files, use the fake hash)" else "");

  # The `url:` prefetch target (src/sources/http/prefetch-target.ts), for parseModelSpec.
  # The sha256 is only known after the download: `nix-model-repo prefetch` prints it.
  prefixes = [ "url" ];
  targetExample = "url:https://host/path/model.safetensors";
  parseTarget = rest: flags:
    if !(utils.isFileUrl rest) || urlName rest == "" then
      utils.fail "parseModelSpec" "cannot read the URL target 'url:${rest}'. Write it as url:https://host/path/file (no credentials or fragment; the path names the file)."
    else { urls = [ { url = rest; sha256 = null; } ]; } // (if flags.unpack then { unpack = true; } else { });

  info = spec: {
    urls = map (u: u.url) spec.urls;
    filenames = map fileName spec.urls;
    inherit (spec) unpack;
    org = null;
    repoType = "model";
  };
}
