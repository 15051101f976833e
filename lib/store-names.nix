# The store names the library and the fetcher must agree on, from the one file both read
# (src/nix/store-names.json; the fetcher's src/nix/names.ts): a fixed-output path depends
# only on its name and hash, so `prefetch` and `add` put their downloads under exactly
# these names and the build finds them (docs/lockfile.md, "Store paths").
let
  names = builtins.fromJSON (builtins.readFile ../src/nix/store-names.json);
in
{
  # fetchModel's fixed-output derivation: "<name>-raw".
  raw = name: "${name}${names.rawSuffix}";
  # A large file of a locked model: "model-blob-<sha256 hex>", a function of the content only.
  lockedBlob = sha256: "${names.lockedBlobPrefix}${sha256}";
  # The small files of a locked model named `name`: "<name>-files".
  lockedSmallFiles = name: "${name}${names.lockedSmallFilesSuffix}";
}
