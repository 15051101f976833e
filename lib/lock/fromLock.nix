# fromLock: the models of a lockfile (docs/lockfile.md), each the same kind of value
# fetchModel returns (validated by default, .raw, passthru; for mkHfHub, the modules,
# mkShellHook).
#
#   models = fromLock ./models.lock.json;                 # models.tiny, models.llama, ...
#   models = fromLock {
#     lock = ./models.lock.json;
#     models.tiny = { validation.enable = false; network.concurrency = 4; };   # per-entry overrides
#   };
#
# The lock is read with builtins.fromJSON (no import-from-derivation) and checked
# (lock/check.nix). Underneath each model:
#   - one fixed-output derivation per large file: flat sha256 from the lock, named
#     model-blob-<sha256> (store-names.nix), so its store path depends only on the content
#     and is shared by every model and revision with those bytes;
#   - one fixed-output derivation for the small files (<name>-files, the lock's narHash);
#   - a small assembly derivation (<name>-raw) laying out what fetchModel's raw output
#     holds, with links to those paths; phase 2 validates it as any model.
# Every fetch runs `nix-model-repo fetch` with the spec's `select`: only those files,
# pinned to what the lock resolved (docs/spec.md).
{ utils, sources, surface }:
let
  inherit (builtins) attrNames attrValues concatStringsSep elem filter head isAttrs isPath isString length listToAttrs toJSON;
  ctx = "fromLock";
  model = import ../model.nix { inherit utils sources surface; };
  parseModelSpec = import ../parse-model-spec.nix { inherit utils sources; };
  checkLock = import ./check.nix { inherit utils; };
  storeNames = import ../store-names.nix;

  # What a lock entry may have overridden: how its files are fetched and checked, never which.
  overridable = [ "validation" "integration" "network" "auth" "onFailure" "meta" "passthru" ];
  example = "fromLock ./models.lock.json or fromLock { lock = ./models.lock.json; models.tiny = { validation.enable = false; }; }";

  # The source option for an entry, from the source as the user wrote it (parseModelSpec:
  # the grammar of `nix-model-repo add`), with what only the lock knows.
  sourceOf = entry:
    let
      given = entry.source;
      parsed = parseModelSpec ({ inherit (given) target; }
        // builtins.intersectAttrs { files = null; endpoint = null; repoType = null; region = null; } given);
      type = head (attrNames parsed.source);
      config = parsed.source.${type};
    in
    {
      ${type} =
        # A url: target names one file; its sha256 is the lock's.
        if type == "url" then
          if length entry.files != 1 then utils.fail ctx "a url: entry locks exactly one file, but ${given.target} has ${toString (length entry.files)}."
          else config // { urls = map (u: u // { inherit ((head entry.files)) sha256; }) config.urls; }
        else config;
    };

  lockedModel = name: entry: overrides:
    let
      prepared = model.prepare ctx ({ inherit name; source = sourceOf entry; } // overrides);
      # Only these files, pinned to what the lock resolved (src/fetch/selection.ts).
      select = output: files: {
        inherit output;
        inherit (entry) resolved;
        files = map (f: { inherit (f) path size sha256; }) files;
      };
      fetchSpec = output: files: toJSON (prepared.spec // { select = select output files; });

      largeFiles = filter (f: f.large) entry.files;
      smallFiles = filter (f: !f.large) entry.files;
      # One derivation per content: two paths with the same bytes are one store path.
      blobs = listToAttrs (map (f: {
        name = f.sha256;
        value = prepared.fixedOutput {
          name = storeNames.lockedBlob f.sha256;
          spec = fetchSpec "file" [ f ];
          outputHashMode = "flat";
          outputHash = f.sha256;
        };
      }) largeFiles);
      small = if entry.smallFiles == null then null else prepared.fixedOutput {
        name = storeNames.lockedSmallFiles name;
        spec = fetchSpec "directory" smallFiles;
        outputHashMode = "recursive";
        outputHash = entry.smallFiles.narHash;
      };

      raw = derivation {
        name = storeNames.raw name;
        inherit (surface) system;
        builder = "${surface.fetcher}/bin/nix-model-repo";
        args = [ "assemble" ];
        assembly = toJSON {
          inherit name entry;
          blobs = builtins.mapAttrs (_: drv: "${drv}") blobs;
          smallFiles = if small == null then null else "${small}";
        };
        passAsFile = [ "assembly" ];
        # A few symlinks: building is cheaper than looking for a substitute.
        preferLocalBuild = true;
      };
    in
    model.finish {
      inherit prepared raw;
      linkRoots = attrValues blobs ++ (if small == null then [ ] else [ small ]);
      passthru = {
        # The lock entry, and the fixed-output paths it is made of.
        lockEntry = entry;
        lockedFiles = { inherit blobs; smallFiles = small; };
      };
    };
in
arg:
let
  given =
    if isPath arg || isString arg then { lock = arg; }
    else utils.checkKnownAttrs ctx "" [ "lock" "models" ] (utils.expect ctx "the argument" "a lockfile path, or { lock; models; }" example isAttrs arg);
  lockFile = given.lock or (utils.fail ctx "lock is missing. Example: ${example}");
  file = toString lockFile;
  lock = checkLock file (builtins.fromJSON (builtins.readFile lockFile));
  names = attrNames lock.models;
  overrides = utils.expect ctx "models" "an attribute set of per-model overrides" "{ tiny = { validation.enable = false; }; }" isAttrs (given.models or { });
  unknown = filter (n: !(elem n names)) (attrNames overrides);
in
if unknown != [ ] then
  utils.fail ctx "models.${head unknown} overrides a model ${file} does not lock.${utils.suggestion (head unknown) names} It locks: ${concatStringsSep ", " names}."
else
  builtins.mapAttrs
    (name: entry: lockedModel name entry
      (utils.checkKnownAttrs ctx "models.${name}." overridable (overrides.${name} or { })))
    lock.models
