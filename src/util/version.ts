/**
 * The package's version. scripts/bundle.mjs inlines it with esbuild's `define`, so the
 * bundle does not embed package.json: in the Nix build that file is importNpmLock's
 * rewrite, whose `file:/nix/store/...` tarballs of every dependency (typescript,
 * vitest, ...) would become references of the fetcher and of every model fetched with
 * it. Unbundled (tests run the sources), there is nothing to inline.
 */
declare const NIX_MODEL_REPO_VERSION: string | undefined;

export const version: string = typeof NIX_MODEL_REPO_VERSION === "string" ? NIX_MODEL_REPO_VERSION : "0.0.0-dev";
