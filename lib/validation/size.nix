# Sizes for validators.maxSize: "20G", "500M", "1.5T", "20GiB", "20GB", "123".
#   K M G T P        1024-based (as numfmt --from=iec and network.bandwidth.limit)
#   KiB MiB GiB …    the same, spelled out
#   KB MB GB TB PB   1000-based (SI, as the Hub shows file sizes)
#   B or nothing     bytes
{ utils }:
let
  kibi = 1024;
  kilo = 1000;
  pow = base: n: if n == 0 then 1 else base * pow base (n - 1);
  letters = [ "K" "M" "G" "T" "P" ];
  indexed = builtins.genList (i: { letter = builtins.elemAt letters i; power = i + 1; }) (builtins.length letters);
  multipliers = builtins.listToAttrs (
    [ { name = ""; value = 1; } { name = "B"; value = 1; } ]
    ++ map (u: { name = u.letter; value = pow kibi u.power; }) indexed
    ++ map (u: { name = "${u.letter}iB"; value = pow kibi u.power; }) indexed
    ++ map (u: { name = "${u.letter}B"; value = pow kilo u.power; }) indexed
  );
  example = ''validators.maxSize "20G"'';
in
{
  # Bytes in `size` (an integer), or a throw naming `option` that shows the accepted forms.
  parse = option: size:
    let
      parts = if builtins.isString size then builtins.match "([0-9]+(\\.[0-9]+)?) ?([A-Za-z]*)" size else null;
      number = builtins.fromJSON (builtins.head parts);
      unit = builtins.elemAt parts 2;
    in
    if parts == null || !(multipliers ? ${unit}) then
      utils.fail option "the size must be a number with an optional unit: \"20G\" or \"20GiB\" (1024-based), \"20GB\" (1000-based), \"500M\", \"1.5T\", \"123\" (bytes), but it is ${utils.describeValue size}. Example: ${example}"
    else if builtins.isInt number then number * multipliers.${unit}
    else builtins.floor (number * multipliers.${unit});
}
