# A stand-in for nixpkgs, for tests on a machine with Nix but no nixpkgs (DESIGN.md §8).
# It implements the `pkgs` surface lib/pkgs-surface.nix lists (and what package.nix
# and the integration helpers use) with builtins.derivation and the host's tools:
# builds run with the sandbox off, so /bin/sh, coreutils and /usr/bin/node are there.
# It is not a nixpkgs: only what the library needs, in the same shapes.
{ system ? builtins.currentSystem }:
let
  hostPath = "/usr/local/bin:/usr/bin:/bin";
  repoRoot = ../..;

  # runCommand name env script, as nixpkgs has it: bash with -e, $out to create. As with
  # mkDerivation, `passthru` and `meta` stay out of the build's environment and end up
  # on the result.
  runCommand = name: env: script:
    let
      drv = derivation ({
        inherit name system;
        builder = "/bin/bash";
        # The trailing `true` keeps bash from exec-ing the script's last command: a
        # coreutils program closes stdout/stderr before it exits, Nix 2.8 takes that EOF
        # for the builder's end and SIGKILLs it, and the build fails "due to signal 9".
        args = [ "-euo" "pipefail" "-c" "${script}\ntrue" ];
        PATH = hostPath;
      } // removeAttrs env [ "passthru" "meta" ]);
    in
    drv // (env.passthru or { }) // { meta = env.meta or { }; passthru = env.passthru or { }; };

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

    runCommandLocal = name: env: runCommand name ({ preferLocalBuild = true; allowSubstitutes = false; } // env);
    runtimeShell = "/bin/bash";

    writeText = name: text: writeTextFile { inherit name text; };
    writeShellScript = name: text: writeTextFile { inherit name; executable = true; text = "#!/bin/bash\n${text}"; };
    writeShellScriptBin = name: text: writeTextFile { inherit name; executable = true; destination = "/bin/${name}"; text = "#!/bin/bash\n${text}"; };

    # The host's CA bundle under the path nixpkgs' cacert uses.
    cacert = runCommand "cacert-host" { } ''
      mkdir -p $out/etc/ssl/certs
      cp /etc/ssl/certs/ca-certificates.crt $out/etc/ssl/certs/ca-bundle.crt
    '';

    # mkShell: a derivation whose attributes (shellHook, packages) `nix develop` and
    # `nix-shell` read. Building it builds what the hook refers to, as in nixpkgs.
    mkShell = { name ? "nix-shell", packages ? [ ], shellHook ? "", ... }@args:
      runCommand name (removeAttrs args [ "name" ] // { inherit packages shellHook; }) ''
        echo "a dev shell: enter it with nix develop or nix-shell" > "$out"
      '';

    # What package.nix asks for, so `callPackage ./package.nix { }` (the flake's
    # packages.default) works here: the "npm build" is the checkout's esbuild bundle.
    buildNpmPackage = args: self.nix-model-repo-dev // { inherit (args) pname version; };
    importNpmLock = { __functor = _: { npmRoot }: null; npmConfigHook = null; };
    nodejs_20 = runCommand "nodejs-host" { } ''mkdir -p $out/bin && ln -s /usr/bin/node $out/bin/node'';
    makeWrapper = null;
    lib = {
      importJSON = file: builtins.fromJSON (builtins.readFile file);
      fileset = { toSource = _: null; unions = _: null; };
      getExe = package: "${package}/bin/${package.meta.mainProgram or package.pname or package.name}";
      licenses.mit = { };
      platforms.all = [ ];
    };

    # callPackage: fills a function's arguments from this set, as nixpkgs does.
    callPackage = fn: overrides:
      let f = if builtins.isFunction fn then fn else import fn;
      in f (builtins.intersectAttrs (builtins.functionArgs f) self // overrides);

    # The host's git (for the git-lfs source), under the path nixpkgs' git has it.
    git = runCommand "git-host" { } ''
      mkdir -p $out/bin
      ln -s /usr/bin/git $out/bin/git
    '';

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
