# A stand-in for nixpkgs, for tests on a machine with Nix but no nixpkgs (docs/architecture.md).
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
        # -e and pipefail, but not -u: stdenv runs buildCommand without nounset, and
        # builders written for it (Home Manager's home-files) read unset array keys.
        args = [ "-eo" "pipefail" "-c" "${script}\ntrue" ];
        PATH = hostPath;
      } // removeAttrs env [ "passthru" "meta" ]);
    in
    drv // (env.passthru or { }) // { meta = env.meta or { }; passthru = env.passthru or { }; };

  # A package whose bin/ holds the host's tools of these names (those that exist).
  hostTools = name: tools: runCommand "${name}-host" { } ''
    mkdir -p $out/bin
    for tool in ${builtins.concatStringsSep " " (map (t: "'${t}'") tools)}; do
      found=$(type -P "$tool") && ln -s "$found" "$out/bin/$tool"
    done
    true
  '';

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

    # The host's bash and basic tools under the paths nixpkgs' packages have them
    # (bin/<tool>), for shell validators (lib/validation). Tools the host lacks are left out.
    bash = hostTools "bash" [ "bash" "sh" ];
    coreutils = hostTools "coreutils" [
      "[" "b2sum" "base32" "base64" "basename" "basenc" "cat" "chgrp" "chmod" "chown" "cksum" "comm" "cp"
      "csplit" "cut" "date" "dd" "df" "dirname" "du" "echo" "env" "expand" "expr" "factor" "false" "fmt"
      "fold" "head" "id" "install" "join" "link" "ln" "ls" "md5sum" "mkdir" "mkfifo" "mktemp" "mv" "nice"
      "nl" "nohup" "nproc" "numfmt" "od" "paste" "printenv" "printf" "pwd" "readlink" "realpath" "rm"
      "rmdir" "seq" "sha1sum" "sha256sum" "sha512sum" "shuf" "sleep" "sort" "split" "stat" "sum" "sync"
      "tac" "tail" "tee" "test" "timeout" "touch" "tr" "true" "truncate" "tsort" "uname" "unexpand" "uniq"
      "unlink" "wc" "whoami" "yes"
    ];
    findutils = hostTools "findutils" [ "find" "xargs" ];
    gnugrep = hostTools "gnugrep" [ "grep" "egrep" "fgrep" ];
    gnused = hostTools "gnused" [ "sed" ];

    # STAND-IN for nixpkgs' python3Packages.modelscan (protectai/modelscan), which is not
    # available here: a shell script with modelscan's command-line contract, not its
    # analysis. `modelscan -p PATH`; exit 0 no issues, 1 issues found, 2 scan error, 3 no
    # supported file, 4 usage error (modelscan's README, "CLI Exit Codes"). A file counts
    # as unsafe when its bytes name a module and a function pickles use to run commands.
    python3Packages.modelscan = self.writeShellScriptBin "modelscan" ''
      PATH=${hostPath}
      echo "modelscan (test stand-in, not protectai/modelscan)"
      path=
      while [ $# -gt 0 ]; do
        case "$1" in
          -p|--path) path=$2; shift 2 ;;
          -h|--help) echo "usage: modelscan -p PATH"; exit 0 ;;
          *) echo "Error: No such option: $1" >&2; exit 4 ;;
        esac
      done
      if [ -z "$path" ] || [ ! -e "$path" ]; then echo "Error: Path '$path' does not exist." >&2; exit 4; fi
      supported=0
      issues=0
      while IFS= read -r -d "" file; do
        case "$file" in
          *.pkl|*.pickle|*.joblib|*.dill|*.dat|*.data|*.bin|*.pt|*.pth|*.ckpt|*.h5|*.keras|*.pb|*.npy) ;;
          *) continue ;;
        esac
        supported=$((supported + 1))
        echo "Scanning $file using modelscan.scanners.PickleUnsafeOpScan model scan"
        if grep -a -q -E '(posix|subprocess|builtins|__builtin__|runpy)' "$file" && grep -a -q -E '(system|popen|eval|exec|getoutput|run_code)' "$file"; then
          issues=$((issues + 1))
          echo "Unsafe operator found:"
          echo "  - Severity: CRITICAL"
          echo "  - Source: $file"
        fi
      done < <(find -L "$path" -type f -print0)
      if [ "$supported" -eq 0 ]; then echo "No model files found to scan"; exit 3; fi
      echo "--- Summary ---"
      echo "Total Issues: $issues"
      [ "$issues" -eq 0 ] || exit 1
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
