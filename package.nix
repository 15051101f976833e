# The fetcher package: the TypeScript CLI bundled by esbuild (an entry and the chunks
# it loads on demand), run by Node. Every fetchModel FOD uses it as its builder, so its
# closure is kept to nodejs-slim (node without npm or corepack) plus that folder of
# scripts: no node_modules, and no package.json (the version is inlined at bundle time,
# scripts/bundle.mjs).
#
# Node: nixpkgs' default `nodejs` builds it (buildNpmPackage runs npm), `nodejs-slim`
# runs it. Both track nixpkgs' maintained release, so an end-of-life major marked
# insecure (as nodejs_20 was in nixpkgs PR 511784) never stops evaluation here. The
# bundle targets node20, so any newer Node runs it.
{
  lib,
  buildNpmPackage,
  importNpmLock,
  nodejs-slim,
  makeWrapper,
}:
let
  packageJson = lib.importJSON ./package.json;
  # Options for node itself, given on its command line by the wrapper: V8 sizes the young
  # generation when it starts, so src/cli/main.ts cannot set this as it sets its other V8
  # flags. A download leaves every socket read behind as a 64 KiB buffer, freed only when
  # the young generation is collected; with a semi-space of 1 MiB that is after every MiB of
  # JavaScript allocation, and peak RSS for 1 GiB was 119 instead of 152 MiB on Node 24, at
  # the same speed (docs/bench.md, "Seventh round"). In package.json so that the bench and
  # the tests' stand-in fetcher run with the same options.
  nodeOptions = packageJson.config.nodeOptions;
in
buildNpmPackage {
  pname = "nix-model-repo";
  inherit (packageJson) version;

  src = lib.fileset.toSource {
    root = ./.;
    fileset = lib.fileset.unions [
      ./package.json
      ./package-lock.json
      ./tsconfig.json
      ./scripts/bundle.mjs
      ./patches
      ./src
    ];
  };

  # Dependencies come from package-lock.json's resolved URLs and integrity hashes:
  # no npmDepsHash to keep in step by hand.
  npmDeps = importNpmLock { npmRoot = ./.; };
  npmConfigHook = importNpmLock.npmConfigHook;
  npmBuildScript = "build";
  # npmConfigHook installs with --ignore-scripts, so package.json's postinstall, which
  # applies patches/ to node_modules (patch-package), is run here, before the bundle.
  # Not postConfigure: runHook runs that attribute before npmConfigHook has installed.
  preBuild = ''
    npm run postinstall
  '';

  nativeBuildInputs = [ makeWrapper ];

  # dist/ is the entry (nix-model-repo.mjs) and the two bundles it runs, dist/fetch/ and
  # dist/cli/ (scripts/bundle.mjs): the whole folder, nothing else.
  installPhase = ''
    runHook preInstall
    mkdir -p $out/lib/nix-model-repo
    cp -r dist/. $out/lib/nix-model-repo/
    makeWrapper ${lib.getExe nodejs-slim} $out/bin/nix-model-repo \
      --add-flags "${nodeOptions} $out/lib/nix-model-repo/nix-model-repo.mjs"
    runHook postInstall
  '';

  # meta.platforms is left to buildNpmPackage, which takes nodejs'.
  meta = {
    description = packageJson.description;
    homepage = "https://github.com/parthspatel/nix-model-repo";
    license = lib.licenses.mit;
    mainProgram = "nix-model-repo";
  };
}
