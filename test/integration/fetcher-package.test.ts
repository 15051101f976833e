/**
 * package.nix as a user of current nixpkgs gets it (the stand-in, where nodejs_20 is
 * marked insecure as in nixpkgs PR 511784): it evaluates with a maintained Node, keeps
 * nodejs' platforms, and runs on nodejs-slim, so no npm or corepack is in the closure
 * every fixed-output derivation pulls in.
 */
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { nixAvailable, nixBuild, nixEval, repoRoot, nixStderrWithoutBusyRetries } from "../helpers/nix.js";

const packageJson = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as {
  version: string;
  config: { nodeOptions: string };
};

describe.skipIf(!nixAvailable)("package.nix (stand-in nixpkgs, where nodejs_20 is insecure)", () => {
  const callPackage = `let pkgs = import ${repoRoot}/test/nix/pkgs.nix { }; in pkgs.callPackage ${repoRoot}/package.nix { }`;

  it("evaluates with a maintained Node and keeps nodejs' platforms", async () => {
    const result = await nixEval(`let
        pkgs = import ${repoRoot}/test/nix/pkgs.nix { };
        fetcher = pkgs.callPackage ${repoRoot}/package.nix { };
      in {
        drv = builtins.seq fetcher.drvPath true;
        platforms = fetcher.meta.platforms == pkgs.nodejs.meta.platforms;
        inherit (fetcher.meta) mainProgram;
      }`);
    expect(result.stderr, result.stderr).not.toContain("error:");
    expect(result.value).toEqual({ drv: true, platforms: true, mainProgram: "nix-model-repo" });
  });

  it("runs the bundle with nodejs-slim: the closure holds node, not npm", async () => {
    const built = await nixBuild(callPackage);
    expect(nixStderrWithoutBusyRetries(built.stderr), built.stderr).not.toMatch(/error:/);
    const out = built.outPath!;
    expect(
      execFileSync(join(out, "bin", "nix-model-repo"), ["--version"])
        .toString()
        .trim(),
    ).toBe(packageJson.version);
    // The commands are chunks beside the entry (scripts/bundle.mjs): `hash` loads its own.
    const lib = join(out, "lib", "nix-model-repo");
    expect(execFileSync(join(out, "bin", "nix-model-repo"), ["hash", "--base32", lib]).toString()).toBe(
      execFileSync("nix-hash", ["--type", "sha256", "--base32", lib]).toString(),
    );
    // node's own options (a young generation V8 sizes only at start-up) are on its command
    // line, before the entry, as makeWrapper's --add-flags puts them.
    const wrapper = await readFile(join(out, "bin", "nix-model-repo"), "utf8");
    expect(wrapper).toContain(`${packageJson.config.nodeOptions} ${join(lib, "nix-model-repo.mjs")}`);
    const closure = execFileSync("nix-store", ["--query", "--requisites", out]).toString().trim().split("\n");
    const names = closure.map((path) => path.replace(/^\/nix\/store\/[a-z0-9]{32}-/, ""));
    expect(names).toContain("nodejs-slim-24-host");
    expect(names.filter((name) => /^nodejs-\d/.test(name) || /npm/.test(name))).toEqual([]);
    expect(names.filter((name) => /typescript|vitest|esbuild|tgz$/.test(name))).toEqual([]);
  });
});
