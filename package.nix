# The fetcher package: the TypeScript CLI bundled by esbuild into one file, run by
# Node. Every fetchModel FOD uses it as its builder, so its closure is kept to node
# plus one script (no node_modules at run time).
{
  lib,
  buildNpmPackage,
  importNpmLock,
  nodejs_20,
  makeWrapper,
}:
let
  packageJson = lib.importJSON ./package.json;
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

  nodejs = nodejs_20;
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

  installPhase = ''
    runHook preInstall
    install -Dm644 dist/nix-model-repo.mjs $out/lib/nix-model-repo/nix-model-repo.mjs
    makeWrapper ${lib.getExe nodejs_20} $out/bin/nix-model-repo \
      --add-flags $out/lib/nix-model-repo/nix-model-repo.mjs
    runHook postInstall
  '';

  meta = {
    description = packageJson.description;
    homepage = "https://github.com/parthspatel/nix-model-repo";
    license = lib.licenses.mit;
    mainProgram = "nix-model-repo";
    platforms = lib.platforms.all;
  };
}
