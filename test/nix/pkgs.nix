# A stand-in for nixpkgs, for tests on a machine with Nix but no nixpkgs (DESIGN.md §8).
# It implements the `pkgs` surface lib/pkgs-surface.nix lists (and what package.nix
# and the integration helpers use) with builtins.derivation and the host's tools:
# builds run with the sandbox off, so /bin/sh, coreutils and /usr/bin/node are there.
# It is not a nixpkgs: only what the library needs, in the same shapes.
{ system ? builtins.currentSystem }:
let
  hostPath = "/usr/local/bin:/usr/bin:/bin";
  repoRoot = ../..;

  # runCommand name env script, as nixpkgs has it: bash with -e, $out to create.
  runCommand = name: env: script:
    derivation ({
      inherit name system;
      builder = "/bin/bash";
      args = [ "-euo" "pipefail" "-c" script ];
      PATH = hostPath;
    } // env);

  writeTextFile = { name, text, executable ? false, destination ? "" }:
    runCommand name { inherit text; passAsFile = [ "text" ]; } ''
      target="$out${destination}"
      mkdir -p "$(dirname "$target")"
      cp "$textPath" "$target"
      ${if executable then ''chmod +x "$target"'' else ""}
    '';

  self = {
    inherit system runCommand writeTextFile;
    stdenvNoCC.hostPlatform.system = system;
    stdenv.hostPlatform.system = system;

    writeText = name: text: writeTextFile { inherit name text; };
    writeShellScript = name: text: writeTextFile { inherit name; executable = true; text = "#!/bin/bash\n${text}"; };
    writeShellScriptBin = name: text: writeTextFile { inherit name; executable = true; destination = "/bin/${name}"; text = "#!/bin/bash\n${text}"; };

    # The host's CA bundle under the path nixpkgs' cacert uses.
    cacert = runCommand "cacert-host" { } ''
      mkdir -p $out/etc/ssl/certs
      cp /etc/ssl/certs/ca-certificates.crt $out/etc/ssl/certs/ca-bundle.crt
    '';

    # callPackage: fills a function's arguments from this set, as nixpkgs does.
    callPackage = fn: overrides:
      let f = if builtins.isFunction fn then fn else import fn;
      in f (builtins.intersectAttrs (builtins.functionArgs f) self // overrides);

    # The fetcher from this checkout's bundle (`npm run build`), run by the host's node.
    nix-model-repo-dev = runCommand "nix-model-repo-dev" {
      bundle = builtins.path { path = repoRoot + "/dist/nix-model-repo.mjs"; name = "nix-model-repo.mjs"; };
    } ''
      mkdir -p $out/bin
      printf '#!/bin/sh\nexec /usr/bin/node %s "$@"\n' "$bundle" > $out/bin/nix-model-repo
      chmod +x $out/bin/nix-model-repo
    '';
  };
in
self
