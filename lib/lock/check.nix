# Checks a lockfile read with builtins.fromJSON (docs/lockfile.md, "What is refused"): the
# same rules as the fetcher's reader (src/lockfile/read.ts), at evaluation, with a message
# naming the file, the entry and the field:
#
#   fromLock: ./models.lock.json: models."tiny".files[2].sha256 must be 64 lowercase hex
#   digits, but it is the string "ABC". ...
#
# checkLock file json → { models = { <name> = lazily checked entry; }; }: a broken entry
# fails when that model is used, not the others.
{ utils }:
let
  inherit (builtins) all any attrNames concatStringsSep elem elemAt filter genList isAttrs isBool isInt isList
    isString length listToAttrs match replaceStrings split stringLength toJSON;
  ctx = "fromLock";

  # C1 controls, the line and paragraph separators and bidirectional overrides, as strings
  # (Nix has no \u escape; [[:cntrl:]] covers C0 and DEL in the regex below): the same
  # characters as src/lockfile/read.ts.
  char = code: builtins.fromJSON ''"\u${code}"'';
  hex = [ "0" "1" "2" "3" "4" "5" "6" "7" "8" "9" "a" "b" "c" "d" "e" "f" ];
  unprintableChars = map (d: char "008${d}") hex ++ map (d: char "009${d}") hex
    ++ map char [ "2028" "2029" "202a" "202b" "202c" "202d" "202e" "2066" "2067" "2068" "2069" ];
  isPrintable = s: match ".*[[:cntrl:]].*" s == null
    && replaceStrings unprintableChars (map (_: "") unprintableChars) s == s;

  isSha256 = v: isString v && match "[0-9a-f]{64}" v != null;
  isGitOid = v: isString v && match "[0-9a-f]{40}" v != null;
  isDigest = v: isString v && match "sha256:[0-9a-f]{64}" v != null;
  isText = v: isString v && v != "" && isPrintable v;
  isEntryName = v: match "[A-Za-z0-9_+][A-Za-z0-9_+.=?-]{0,99}" v != null;
  segments = p: filter isString (split "/" p);
  # A plain relative path: no leading "/", no empty, "." or ".." segment, no backslash, segments of at most 255 bytes.
  isPath = v: isText v && match "/.*" v == null && match ".*[\\].*" v == null
    && all (s: s != "" && s != "." && s != ".." && stringLength s <= 255) (segments v);
  isRef = v: isText v && match ".*[\\].*" v == null && all (s: s != "" && s != "." && s != "..") (segments v);
  isHttpUrl = v: utils.isHttpUrl v && isPrintable v;

  # Every string anywhere in a value is printable (recorded: the meta file's source).
  allPrintable = v:
    if isString v then isPrintable v
    else if isList v then all allPrintable v
    else if isAttrs v then all (n: allPrintable v.${n}) (attrNames v)
    else true;

  unique = list: length list == length (attrNames (listToAttrs (map (x: { name = x; value = null; }) list)));
in
file: json:
let
  hint = " The lockfile is written by `nix-model-repo add` and `nix-model-repo update`, never by hand: undo the edit (git checkout), or lock the model again with `nix-model-repo add NAME TARGET`. docs/lockfile.md";
  refuse = where: what: value:
    utils.fail ctx "${file}: ${where} ${what}, but it is ${if value == null then "missing" else utils.describeValue value}.${hint}";
  # The value at `where`, if `ok`; else the refusal.
  field = where: what: ok: value: if ok value then value else refuse where what value;
  get = attrs: key: attrs.${key} or null;
  known = where: keys: attrs:
    let extra = filter (k: !(elem k keys)) (attrNames attrs);
    in if extra == [ ] then attrs else utils.fail ctx "${file}: unknown field ${where}.${builtins.head extra} (known: ${concatStringsSep ", " keys}).${hint}";
  object = where: v: field where "must be an object" isAttrs v;

  checkSource = where: s:
    let o = known where [ "target" "files" "endpoint" "repoType" "region" ] (object where s);
    in {
      target = field "${where}.target" "must be a target like \"hf:acme/tiny@main\"" isText (get o "target");
    }
    // (if o ? files then { files = field "${where}.files" "must be a list of patterns" (v: isList v && all isText v) o.files; } else { })
    // (if o ? endpoint then { endpoint = field "${where}.endpoint" "must be an http(s) URL without credentials" isHttpUrl o.endpoint; } else { })
    // (if o ? repoType then { repoType = field "${where}.repoType" "must be \"model\", \"dataset\" or \"space\"" (v: elem v [ "model" "dataset" "space" ]) o.repoType; } else { })
    // (if o ? region then { region = field "${where}.region" "must be a region name like eu-west-1" (v: isString v && match "[a-z0-9-]{1,64}" v != null) o.region; } else { });

  checkLayout = where: l:
    let
      o = object where l;
      kind = field "${where}.kind" "must be \"huggingface\" or \"ollama\"" (v: elem v [ "huggingface" "ollama" ]) (get o "kind");
    in
    if kind == "ollama" then known where [ "kind" ] o
    else
      let refs = field "${where}.refs" "must be a list of revision names" isList (get (known where [ "kind" "refs" ] o) "refs");
      in o // {
        refs = genList (i: field "${where}.refs[${toString i}]" "must be a revision name like \"main\" or \"refs/pr/1\" (no empty, \".\" or \"..\" segment)" isRef (elemAt refs i)) (length refs);
      };

  checkIds = where: ids:
    let
      o = known where [ "gitOid" "lfsOid" "etag" "digest" ] (object where ids);
      opt = key: what: ok: if o ? ${key} then { ${key} = field "${where}.${key}" what ok o.${key}; } else { };
    in
    opt "gitOid" "must be 40 lowercase hex digits" isGitOid
    // opt "lfsOid" "must be 64 lowercase hex digits" isSha256
    // opt "etag" "must be at most 256 printable characters" (v: isText v && stringLength v <= 256)
    // opt "digest" "must be \"sha256:\" and 64 lowercase hex digits" isDigest;

  checkFile = hub: where: f:
    let
      o = known where [ "path" "size" "sha256" "large" "blob" "ids" ] (object where f);
      path = field "${where}.path" "must be a relative path without empty, \".\" or \"..\" segments, backslashes or control characters" isPath (get o "path");
      sha256 = field "${where}.sha256" "must be 64 lowercase hex digits" isSha256 (get o "sha256");
      ollamaBlob = match "blobs/sha256-([0-9a-f]{64})" path;
    in
    {
      inherit path sha256;
      size = field "${where}.size" "must be an integer >= 0" (v: isInt v && v >= 0) (get o "size");
      large = field "${where}.large" "must be true or false" isBool (get o "large");
      ids = checkIds "${where}.ids" (get o "ids");
    }
    // (if hub then { blob = field "${where}.blob" "must be the blob's name: 40 or 64 lowercase hex digits" (v: isGitOid v || isSha256 v) (get o "blob"); }
    else if o ? blob then refuse "${where}.blob" "must be absent in the Ollama layout" o.blob
    else if ollamaBlob == null && match "manifests/[^/]+/[^/]+/[^/]+/[^/]+" path == null then
      refuse "${where}.path" "must be blobs/sha256-<hex> or manifests/<host>/<namespace>/<model>/<tag>" path
    else if ollamaBlob != null && builtins.head ollamaBlob != sha256 then
      refuse "${where}.sha256" "must be the digest its path names" sha256
    else { });

  checkEntry = name: e:
    let
      where = "models.${toJSON name}";
      o = known where [ "source" "layout" "resolved" "recorded" "files" "smallFiles" ] (object where e);
      layout = checkLayout "${where}.layout" (get o "layout");
      hub = layout.kind == "huggingface";
      resolved = let r = object "${where}.resolved" (get o "resolved"); in
        builtins.mapAttrs (k: v: field "${where}.resolved.${k}" "must be a non-empty string" isText v) r;
      recorded = field "${where}.recorded" "must be an object naming the source type" (v: isAttrs v && isText (v.type or null) && allPrintable v) (get o "recorded");
      fileList = field "${where}.files" "must be a non-empty list of files" (v: isList v && v != [ ]) (get o "files");
      files = genList (i: checkFile hub "${where}.files[${toString i}]" (elemAt fileList i)) (length fileList);
      paths = map (f: f.path) files;
      pathSet = listToAttrs (map (p: { name = p; value = null; }) paths);
      # "a/b/c" → [ "a" "a/b" ]: a file there would make this one's folder a file.
      parentsOf = p: let s = segments p; in genList (i: concatStringsSep "/" (genList (elemAt s) (i + 1))) (length s - 1);
      nested = filter (p: any (parent: pathSet ? ${parent}) (parentsOf p)) paths;
      # Files that share a blob share its bytes: one blob with two contents would serve one file under the other's name.
      blobContents = map (f: { name = f.blob; value = "${f.sha256} ${toString f.size} ${if f.large then "large" else "small"}"; }) (filter (f: f ? blob) files);
      blobTable = listToAttrs blobContents;
      sharedBlob = filter (b: blobTable.${b.name} != b.value) blobContents;
      hasSmall = any (f: !f.large) files;
      smallFiles = get o "smallFiles";
      manifests = filter (f: match "manifests/.*" f.path != null) files;
    in
    if !(isEntryName name) then
      refuse where "must be named with letters, digits and + _ . = ? - (not starting with . - = or ?), at most 100 characters" name
    else if !(unique paths) then refuse "${where}.files" "must name each path once" paths
    else if nested != [ ] then refuse "${where}.files" "must not hold a file inside another file" (builtins.head nested)
    else if sharedBlob != [ ] then refuse "${where}.files" "must give each blob one content, but blob ${(builtins.head sharedBlob).name} has two" (map (f: f.path) files)
    else if hasSmall && smallFiles == null then refuse "${where}.smallFiles" "must give the narHash of the small files" null
    else if !hasSmall && smallFiles != null then refuse "${where}.smallFiles" "must be null: every file is large" smallFiles
    else if hub && !(isGitOid (resolved.commit or null)) then refuse "${where}.resolved.commit" "must be a 40-hex commit" (resolved.commit or null)
    else if !hub && !(isDigest (resolved.manifestDigest or null)) then refuse "${where}.resolved.manifestDigest" "must be \"sha256:\" and 64 lowercase hex digits" (resolved.manifestDigest or null)
    else if !hub && (length manifests != 1 || (builtins.head manifests).large) then refuse "${where}.files" "must hold exactly one manifest, as a small file" (map (f: f.path) manifests)
    else if !hub && "sha256:${(builtins.head manifests).sha256}" != resolved.manifestDigest then refuse "${where}.resolved.manifestDigest" "must be the manifest's sha256" resolved.manifestDigest
    else {
      source = checkSource "${where}.source" (get o "source");
      inherit layout resolved recorded files;
      smallFiles = if smallFiles == null then null else
        let s = known "${where}.smallFiles" [ "narHash" ] (object "${where}.smallFiles" smallFiles);
        in { narHash = field "${where}.smallFiles.narHash" "must be an SRI sha256 (\"sha256-\" and 44 base64 characters)" utils.isSriSha256 (get s "narHash"); };
    };

  root = known "the lockfile" [ "lockVersion" "models" ] (object "the lockfile" json);
  version = root.lockVersion or null;
in
if version != 1 then
  utils.fail ctx "${file}: has lockVersion ${if version == null then "missing" else toJSON version}; this nix-model-repo reads version 1. ${if isInt version && version > 1 then "It was written by a newer nix-model-repo: update the nix-model-repo input (library and CLI together)." else hint}"
else {
  # Each entry checked in full (deepSeq) the first time it is used.
  models = builtins.mapAttrs (name: e: let checked = checkEntry name e; in builtins.deepSeq checked checked)
    (object "models" (root.models or null));
}
