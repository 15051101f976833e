# A stand-in for nixpkgs, for tests on a machine with Nix but no nixpkgs. It provides
# the `pkgs` attributes the library, package.nix, the modules and the examples use, with
# builtins.derivation and the host's tools (builds run with the sandbox off, so /usr/bin
# is there). It is not a nixpkgs: only what this repository needs, in the same shapes.
#
# Where a user of real nixpkgs would hit a rule, the stand-in applies it too, so a test
# here fails the way a real evaluation or build would: meta is checked as
# pkgs/stdenv/generic/check-meta.nix does (an insecure, broken or unsupported package
# refuses to evaluate), builds see only the tools they declare, runtimeShell is a store
# path, nodejs_20 is marked insecure. test/nix/README.md lists every attribute, the real
# file it imitates and what it leaves out.
#
# `fetcherNode`: the node binary nix-model-repo-dev runs the bundle on (this machine's
# unless given; the bench's end-to-end case passes the one it runs under, BENCH_NODE).
{ system ? builtins.currentSystem, config ? { }, fetcherNode ? "/usr/bin/node" }:
let
  inherit (builtins) attrNames concatStringsSep elem filter head isFunction length map removeAttrs;

  hostPath = "/usr/local/bin:/usr/bin:/bin";
  repoRoot = ../..;

  platforms = rec {
    linux = [ "x86_64-linux" "aarch64-linux" "i686-linux" "armv6l-linux" "armv7l-linux" "riscv64-linux" "powerpc64le-linux" ];
    darwin = [ "x86_64-darwin" "aarch64-darwin" ];
    unix = linux ++ darwin;
    all = unix;
  };

  # The bootstrap: a package whose bin/ links the host's tools of these names (those that
  # exist), as stdenv's bootstrap tools provide its initial PATH.
  # The trailing `true` keeps bash from exec-ing the script's last command: a coreutils
  # program closes stdout/stderr before it exits, Nix 2.8 takes that EOF for the
  # builder's end and SIGKILLs it, and the build fails "due to signal 9".
  hostTools = name: tools: derivation {
    name = "${name}-host";
    inherit system;
    builder = "/bin/bash";
    PATH = hostPath;
    args = [ "-eo" "pipefail" "-c" ''
      mkdir -p $out/bin
      for tool in ${concatStringsSep " " (map (t: "'${t}'") tools)}; do
        found=$(type -P "$tool") && ln -s "$found" "$out/bin/$tool"
      done
      true
    '' ];
  };

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
  diffutils = hostTools "diffutils" [ "cmp" "diff" "diff3" "sdiff" ];
  gnugrep = hostTools "gnugrep" [ "grep" "egrep" "fgrep" ];
  gnused = hostTools "gnused" [ "sed" ];
  gawk = hostTools "gawk" [ "awk" "gawk" ];
  gnutar = hostTools "gnutar" [ "tar" ];
  gzip = hostTools "gzip" [ "gzip" "gunzip" "zcat" ];
  bzip2 = hostTools "bzip2" [ "bzip2" "bunzip2" "bzcat" ];
  xz = hostTools "xz" [ "xz" "unxz" "xzcat" ];
  gnumake = hostTools "gnumake" [ "make" ];
  gnupatch = hostTools "gnupatch" [ "patch" ];

  # stdenv's initialPath (pkgs/stdenv/common-path.nix): what every build has on PATH
  # besides its declared inputs.
  initialPath = [ coreutils findutils diffutils gnused gnugrep gawk gnutar gzip bzip2 xz bash gnumake gnupatch ];

  # lib.getBin: the `bin` output when there is one.
  binDir = p: "${p.bin or p.out or p}/bin";
  makeBinPath = packages: concatStringsSep ":" (map binDir packages);

  runtimeShell = "${bash}/bin/bash";

  # check-meta.nix's checkValidity for the problems a user meets: meta.outputsToInstall
  # naming outputs the package lacks (checked here as with config.checkMeta = true), a
  # platform outside meta.platforms, meta.knownVulnerabilities, meta.broken. Returns
  # null or the message handleEvalIssue throws.
  problem = name: outputs: meta:
    let
      insecure = (meta.knownVulnerabilities or [ ]) != [ ];
      permitted = elem name (config.permittedInsecurePackages or [ ])
        || (config.allowInsecurePredicate or (_: false)) { inherit name meta; };
      refuse = what: details: "Package ‘${name}’ ${what}, refusing to evaluate.${details}";
    in
    if !(builtins.all (o: elem o outputs) (meta.outputsToInstall or [ ])) then
      refuse "has invalid meta.outputsToInstall" "\n\nmeta.outputsToInstall = [ ${concatStringsSep " " meta.outputsToInstall} ], but its outputs are [ ${concatStringsSep " " outputs} ]."
    else if (meta ? platforms && !(elem system meta.platforms)) || elem system (meta.badPlatforms or [ ]) then
      refuse "is not available on the requested hostPlatform" "\n\n  hostPlatform.system = \"${system}\"\n  package.meta.platforms = [ ${concatStringsSep " " (meta.platforms or [ ])} ]"
    else if insecure && !permitted then
      refuse "is marked as insecure" "\n\nKnown issues:\n${concatStringsSep "\n" (map (v: " - ${v}") meta.knownVulnerabilities)}\n\nYou can install it anyway by allowing this package: nixpkgs.config.permittedInsecurePackages = [ \"${name}\" ];"
    else if (meta.broken or false) && !(config.allowBroken or false) then
      refuse "is marked as broken" ""
    else null;

  # The result of stdenv.mkDerivation: the derivation with passthru and meta on it, whose
  # drvPath and outPath throw check-meta's error, so using the package (as a dependency,
  # in a string, by building it) refuses, while reading its attributes does not.
  withMeta = name: outputs: drv: passthru: meta:
    let
      fullMeta = { inherit name; outputsToInstall = [ (if elem "bin" outputs then "bin" else "out") ]; } // meta;
      issue = problem name outputs fullMeta;
      checked = value: if issue == null then value else throw issue;
      result = drv // passthru // {
        meta = fullMeta;
        inherit passthru;
        drvPath = checked drv.drvPath;
        outPath = checked drv.outPath;
      } // (if outputs == [ "out" ] then { out = result; } else { });
    in
    result;

  # stdenv.mkDerivation, reduced to what this repository's builds use: PATH is the
  # declared inputs' bin/ then initialPath (nothing of the host's); each input's
  # nix-support/setup-hook is sourced; then buildCommand, or buildPhase and installPhase
  # (each with its pre/post hooks). No unpack, patch, configure, check or fixup phases.
  mkDerivation = { nativeBuildInputs ? [ ], buildInputs ? [ ], meta ? { }, passthru ? { }, ... }@args:
    let
      name = args.name or "${args.pname}-${args.version}";
      inputs = nativeBuildInputs ++ buildInputs;
      setup = ''
        export PATH=${makeBinPath (inputs ++ initialPath)}
        runHook() { eval "''${!1:-}"; }
        for input in ${concatStringsSep " " (map (p: "'${p}'") inputs)}; do
          if [ -f "$input/nix-support/setup-hook" ]; then source "$input/nix-support/setup-hook"; fi
        done
        if [ -n "''${buildCommandPath:-}" ]; then
          source "$buildCommandPath"
        else
          runHook preBuild; eval "''${buildPhase:-}"; runHook postBuild
          runHook preInstall; eval "''${installPhase:-}"; runHook postInstall
        fi
        true
      '';
      drv = derivation (removeAttrs args [ "passthru" "meta" ] // {
        inherit name system nativeBuildInputs buildInputs;
        builder = "${bash}/bin/bash";
        # -e and pipefail, but not -u: stdenv runs buildCommand without nounset, and
        # builders written for it (Home Manager's home-files) read unset array keys.
        args = [ "-eo" "pipefail" "-c" setup ];
      } // (if args ? buildCommand then { passAsFile = [ "buildCommand" ] ++ (args.passAsFile or [ ]); } else { }));
    in
    withMeta name (args.outputs or [ "out" ]) drv passthru meta;

  # runCommand name env script (pkgs/build-support/trivial-builders/default.nix): the
  # script is buildCommand, run with bash -e, $out to create.
  runCommand = name: env: buildCommand: mkDerivation (env // { inherit name buildCommand; });

  writeTextFile = { name, text, executable ? false, destination ? "", checkPhase ? "", meta ? { } }:
    runCommand name { inherit text meta; passAsFile = [ "text" ]; } ''
      target="$out${destination}"
      mkdir -p "$(dirname "$target")"
      cp "$textPath" "$target"
      ${if executable then ''chmod +x "$target"'' else ""}
      ${checkPhase}
    '';

  # stdenv.shellDryRun: writeShellScript(Bin) refuse a script bash cannot parse.
  shellDryRun = "${runtimeShell} -n -O extglob";

  # The host's Node under the names nixpkgs gives its packages (pkgs/development/web/nodejs:
  # nodejs.nix builds nodejs-slim_<major>, symlink.nix adds npm to make nodejs_<major>).
  # Which Node runs is the host's (v20 on the test machines), whatever the name says: the
  # fetcher's bundle targets node20 so that it runs on all of them.
  nodeMeta = {
    description = "Event-driven I/O framework for the V8 JavaScript engine (test stand-in: the host's node)";
    mainProgram = "node";
    platforms = platforms.linux ++ platforms.darwin;
  };
  nodeTools = pname: version: tools: extraMeta:
    withMeta "${pname}-${version}" [ "out" ] (hostTools "${pname}-${version}" tools) { inherit pname version; } (nodeMeta // extraMeta);
  nodejsSlim = version: extraMeta: nodeTools "nodejs-slim" version [ "node" ] extraMeta;
  nodejsFull = version: extraMeta: nodeTools "nodejs" version [ "node" "npm" "npx" ] extraMeta;
  nodeEndOfLife = { knownVulnerabilities = [ "This NodeJS release has reached its end of life. See https://nodejs.org/en/about/releases/." ]; };

  # buildNpmPackage's named arguments (pkgs/build-support/node/build-npm-package/default.nix)
  # and the stdenv.mkDerivation attributes package.nix passes on.
  npmPackageArgs = [
    "name" "pname" "version" "src" "srcs" "sourceRoot" "prePatch" "patches" "postPatch" "patchFlags"
    "nativeBuildInputs" "buildInputs" "npmDepsHash" "forceGitDeps" "forceEmptyCache" "makeCacheWritable"
    "npmBuildScript" "npmFlags" "npmInstallFlags" "npmRebuildFlags" "npmBuildFlags" "npmPackFlags"
    "npmPruneFlags" "npmWorkspace" "nodejs" "npmDeps" "npmConfigHook" "npmBuildHook" "npmInstallHook"
    "dontNpmBuild" "dontNpmInstall" "dontStrip"
    "buildPhase" "installPhase" "preBuild" "postBuild" "preInstall" "postInstall" "meta" "passthru" "env"
  ];

  self = {
    inherit system runCommand writeTextFile runtimeShell;
    inherit bash coreutils findutils diffutils gnugrep gnused gawk gnutar gzip bzip2 xz gnumake gnupatch;
    stdenv = { hostPlatform.system = system; inherit mkDerivation shellDryRun initialPath; };
    stdenvNoCC = self.stdenv;

    runCommandLocal = name: env: runCommand name ({ preferLocalBuild = true; allowSubstitutes = false; } // env);

    writeText = name: text: writeTextFile { inherit name text; };
    writeShellScript = name: text: writeTextFile {
      inherit name;
      executable = true;
      text = "#!${runtimeShell}\n${text}";
      checkPhase = ''${shellDryRun} "$target"'';
    };
    writeShellScriptBin = name: text: writeTextFile {
      inherit name;
      executable = true;
      destination = "/bin/${name}";
      text = "#!${runtimeShell}\n${text}";
      checkPhase = ''${shellDryRun} "$target"'';
      meta.mainProgram = name;
    };

    # The host's CA bundle under the path nixpkgs' cacert uses.
    cacert = runCommand "cacert-host" { } ''
      mkdir -p $out/etc/ssl/certs
      cp /etc/ssl/certs/ca-certificates.crt $out/etc/ssl/certs/ca-bundle.crt
    '';

    # mkShell (pkgs/build-support/mkshell/default.nix): `packages` become
    # nativeBuildInputs, inputsFrom's inputs are merged in, and building it (buildable
    # since nixpkgs PR 153194) records the environment, so it builds every input and
    # whatever shellHook refers to.
    mkShell = { name ? "nix-shell", packages ? [ ], inputsFrom ? [ ], buildInputs ? [ ], nativeBuildInputs ? [ ], shellHook ? "", ... }@attrs:
      let merge = n: (attrs.${n} or [ ]) ++ builtins.concatLists (map (d: d.${n} or [ ]) inputsFrom);
      in mkDerivation (removeAttrs attrs [ "packages" "inputsFrom" ] // {
        inherit name;
        nativeBuildInputs = packages ++ merge "nativeBuildInputs";
        buildInputs = merge "buildInputs";
        shellHook = concatStringsSep "\n" (map (d: d.shellHook or "") inputsFrom ++ [ shellHook ]);
        buildPhase = ''
          { echo "------------------------------------------------------------";
            echo " WARNING: the existence of this path is not guaranteed.";
            echo " It is an internal implementation detail for pkgs.mkShell.";
            echo "------------------------------------------------------------";
            echo;
            export;
          } >> "$out"
        '';
        preferLocalBuild = true;
      });

    nodejs_20 = nodejsFull "20" nodeEndOfLife;
    nodejs-slim_20 = nodejsSlim "20" nodeEndOfLife;
    nodejs_22 = nodejsFull "22" { };
    nodejs-slim_22 = nodejsSlim "22" { };
    nodejs_24 = nodejsFull "24" { };
    nodejs-slim_24 = nodejsSlim "24" { };
    nodejs = self.nodejs_24;
    nodejs-slim = self.nodejs-slim_24;

    # makeWrapper's setup hook (pkgs/build-support/setup-hooks/make-wrapper.sh), with the
    # options package.nix uses: --add-flags and --set. Others are refused.
    makeWrapper = runCommand "make-wrapper-hook" { } ''
      mkdir -p $out/nix-support
      cat > $out/nix-support/setup-hook <<'EOF'
      makeWrapper() {
        local original=$1 wrapper=$2 lines=() flags=""
        shift 2
        if [ ! -x "$original" ] || [ -d "$original" ]; then
          echo "Cannot wrap '$original' because it is not an executable file" >&2; return 1
        fi
        while [ $# -gt 0 ]; do
          case $1 in
            --add-flags) flags="$flags $2"; shift 2 ;;
            --set) lines+=("export $2=$(printf %q "$3")"); shift 3 ;;
            *) echo "makeWrapper (test stand-in): unsupported option $1" >&2; return 1 ;;
          esac
        done
        mkdir -p "$(dirname "$wrapper")"
        {
          printf '#! %s -e\n' ${runtimeShell}
          if [ ''${#lines[@]} -gt 0 ]; then printf '%s\n' "''${lines[@]}"; fi
          printf 'exec -a "$0" %q%s "$@"\n' "$original" "$flags"
        } > "$wrapper"
        chmod +x "$wrapper"
      }
      EOF
    '';

    # buildNpmPackage: the named arguments and rules of the real one; the "npm ci && npm
    # run build" is this checkout's bundle (`npm run build`), copied to dist/, then the
    # package's installPhase runs. Stricter than nixpkgs: an argument it does not name
    # (nixpkgs would put it into the build's environment unused) is refused, and so is a
    # nodejs without npm (its hooks run npm; the build would fail).
    buildNpmPackage = { pname, version, nodejs ? self.nodejs, nativeBuildInputs ? [ ], buildInputs ? [ ], meta ? { }, ... }@args:
      let unknown = filter (n: !(elem n npmPackageArgs)) (attrNames args);
      in
      if unknown != [ ] then
        throw "buildNpmPackage (test stand-in) does not take ${concatStringsSep ", " unknown}: nixpkgs' buildNpmPackage would pass it to the build's environment unused. Its arguments: ${concatStringsSep " " npmPackageArgs}"
      else if (nodejs.pname or "") != "nodejs" then
        throw "buildNpmPackage: nodejs = ${nodejs.name or "?"} has no npm, which buildNpmPackage's hooks run (npm ci, npm run build). Build with nodejs and run with nodejs-slim."
      else if !(args ? npmDeps) && (args.npmDepsHash or "") == "" then
        throw "buildNpmPackage: give npmDeps (e.g. importNpmLock { npmRoot = ./.; }) or npmDepsHash"
      else
        # preBuild goes with the npm build it prepares (package.nix patches node_modules
        # there), which this stand-in replaces by the checkout's bundle, already built
        # from a patched node_modules (package.json's postinstall).
        mkDerivation (removeAttrs args [ "src" "npmDeps" "npmConfigHook" "npmBuildScript" "nodejs" "preBuild" ] // {
          nativeBuildInputs = nativeBuildInputs ++ [ nodejs ];
          buildInputs = buildInputs ++ [ nodejs ];
          bundle = builtins.path { path = repoRoot + "/dist"; name = "nix-model-repo-dist"; };
          buildPhase = ''
            mkdir -p dist
            cp -r "$bundle"/. dist/
            chmod -R u+w dist
          '';
          meta = meta // { platforms = meta.platforms or nodejs.meta.platforms; };
        });
    importNpmLock = { __functor = _: { npmRoot }: { inherit npmRoot; }; npmConfigHook = null; };

    lib = {
      importJSON = file: builtins.fromJSON (builtins.readFile file);
      fileset = { toSource = _: null; unions = _: null; };
      # lib.getExe: meta.mainProgram of the `bin` output (nixpkgs warns and guesses without it).
      getExe = package: "${binDir package}/${package.meta.mainProgram or (throw "lib.getExe: ${package.name} has no meta.mainProgram")}";
      licenses.mit = { shortName = "mit"; spdxId = "MIT"; free = true; };
      inherit platforms;
    };

    # callPackage: fills a function's arguments from this set, as nixpkgs does.
    callPackage = fn: overrides:
      let f = if isFunction fn then fn else import fn;
      in f (builtins.intersectAttrs (builtins.functionArgs f) self // overrides);

    # The host's git (for the git-lfs source), under the path nixpkgs' git has it.
    git = hostTools "git" [ "git" ];

    # jq (pkgs/by-name/jq/jq): the program is in the `bin` output, the first one.
    jq = derivation {
      name = "jq-host";
      inherit system;
      outputs = [ "bin" "out" ];
      builder = "/bin/bash";
      PATH = hostPath;
      args = [ "-ec" ''mkdir -p $bin/bin $out; ln -s "$(type -P jq)" $bin/bin/jq; true'' ];
    } // { meta.mainProgram = "jq"; };

    # STAND-IN for nixpkgs' modelscan (pkgs/by-name/mo/modelscan, protectai/modelscan),
    # which is not available here: a shell script with modelscan's command-line
    # contract, not its analysis. `modelscan -p PATH`; exit 0 no issues, 1 issues found,
    # 2 scan error, 3 no supported file, 4 usage error (modelscan's README, "CLI Exit
    # Codes"). A file counts as unsafe when its bytes name a module and a function
    # pickles use to run commands.
    modelscan = self.writeShellScriptBin "modelscan" ''
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
        if ${gnugrep}/bin/grep -a -q -E '(posix|subprocess|builtins|__builtin__|runpy)' "$file" && ${gnugrep}/bin/grep -a -q -E '(system|popen|eval|exec|getoutput|run_code)' "$file"; then
          issues=$((issues + 1))
          echo "Unsafe operator found:"
          echo "  - Severity: CRITICAL"
          echo "  - Source: $file"
        fi
      done < <(${findutils}/bin/find -L "$path" -type f -print0)
      if [ "$supported" -eq 0 ]; then echo "No model files found to scan"; exit 3; fi
      echo "--- Summary ---"
      echo "Total Issues: $issues"
      [ "$issues" -eq 0 ] || exit 1
    '';

    # The fetcher from this checkout's bundle (`npm run build`), run by `fetcherNode` with
    # the options package.nix's wrapper gives it (package.json's config.nodeOptions): what
    # the tests build models with (quicker to rebuild than package.nix's package).
    nix-model-repo-dev = runCommand "nix-model-repo-dev" {
      bundle = builtins.path { path = repoRoot + "/dist"; name = "nix-model-repo-dist"; };
      nodeOptions = (builtins.fromJSON (builtins.readFile (repoRoot + "/package.json"))).config.nodeOptions;
      inherit fetcherNode;
    } ''
      mkdir -p $out/bin
      printf '#!/bin/sh\nexec %s %s %s "$@"\n' "$fetcherNode" "$nodeOptions" "$bundle/nix-model-repo.mjs" > $out/bin/nix-model-repo
      chmod +x $out/bin/nix-model-repo
    '';
  };
in
self
