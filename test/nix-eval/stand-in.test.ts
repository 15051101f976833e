/**
 * The stand-in nixpkgs (test/nix/pkgs.nix) refuses what real nixpkgs refuses, where a
 * user of this repository would meet it: check-meta.nix's insecure, broken, unsupported
 * and outputsToInstall rules, stdenv's PATH of declared inputs only, a runtimeShell with
 * string context, buildNpmPackage's arguments, a buildable mkShell, pkgs.modelscan. Each
 * test names the nixpkgs file it holds the stand-in to (test/nix/README.md has the table).
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { nixAvailable, nixBuild, nixEval, repoRoot, nixStderrWithoutBusyRetries } from "../helpers/nix.js";

const pkgs = `import ${repoRoot}/test/nix/pkgs.nix`;

async function evalError(expression: string): Promise<string> {
  const result = await nixEval(expression);
  expect(result.ok, `expected an evaluation error from: ${expression}`).toBe(false);
  return result.stderr;
}

async function value<T>(expression: string): Promise<T> {
  const result = await nixEval(expression);
  expect(result.stderr, result.stderr).not.toContain("error:");
  return result.value as T;
}

describe.skipIf(!nixAvailable)("the stand-in pkgs behaves like nixpkgs where users meet it", () => {
  it("marks nodejs_20 insecure (nixpkgs PR 511784) and refuses to evaluate it unless permitted", async () => {
    const stderr = await evalError(`(${pkgs} { }).nodejs_20.drvPath`);
    expect(stderr).toContain("Package ‘nodejs-20’ is marked as insecure, refusing to evaluate.");
    expect(stderr).toContain("This NodeJS release has reached its end of life.");
    // Anything built with it refuses too, as in nixpkgs: a dependency's outPath is checked.
    expect(
      await evalError(`let p = ${pkgs} { }; in (p.runCommand "x" { } "\${p.nodejs_20}/bin/node").drvPath`),
    ).toContain("is marked as insecure");
    expect(await value(`(${pkgs} { config.permittedInsecurePackages = [ "nodejs-20" ]; }).nodejs_20.name`)).toBe(
      "nodejs-20-host",
    );
    // The maintained ones evaluate; nodejs has npm, nodejs-slim does not (symlink.nix vs nodejs.nix).
    expect(
      await value(
        `let p = ${pkgs} { }; in map (n: builtins.seq p.\${n}.drvPath p.\${n}.pname) [ "nodejs" "nodejs_22" "nodejs_24" "nodejs-slim" "nodejs-slim_22" "nodejs-slim_24" ]`,
      ),
    ).toEqual(["nodejs", "nodejs", "nodejs", "nodejs-slim", "nodejs-slim", "nodejs-slim"]);
  });

  it("refuses a broken package, one for another platform, and outputsToInstall naming missing outputs", async () => {
    const drv = (meta: string) =>
      `let p = ${pkgs} { }; in (p.runCommand "pkg" { meta = ${meta}; } "touch $out").drvPath`;
    expect(await evalError(drv("{ broken = true; }"))).toContain(
      "Package ‘pkg’ is marked as broken, refusing to evaluate.",
    );
    expect(await evalError(drv(`{ platforms = [ "riscv64-linux" ]; }`))).toContain(
      "is not available on the requested hostPlatform",
    );
    expect(await evalError(drv(`{ outputsToInstall = [ "out" "man" ]; }`))).toContain(
      "has invalid meta.outputsToInstall",
    );
    expect(
      await value<string>(drv(`{ platforms = (import ${repoRoot}/test/nix/pkgs.nix { }).lib.platforms.all; }`)),
    ).toMatch(/-pkg\.drv$/);
  });

  it("builds with the declared inputs and initialPath only, not the host's PATH", async () => {
    const undeclared = await nixBuild(`let p = ${pkgs} { }; in p.runCommand "undeclared" { } "jq --version > $out"`);
    expect(undeclared.ok).toBe(false);
    expect(undeclared.stderr).toContain("jq: command not found");
    const declared = await nixBuild(
      `let p = ${pkgs} { }; in p.runCommand "declared" { nativeBuildInputs = [ p.jq ]; } "jq -n 1+1 > $out; cmp --version >/dev/null"`,
    );
    expect(nixStderrWithoutBusyRetries(declared.stderr), declared.stderr).not.toMatch(/error:/);
    expect(readFileSync(declared.outPath!, "utf8").trim()).toBe("2");
  });

  it("gives runtimeShell string context, so names derived from it carry context too", async () => {
    expect(
      await value(
        `let p = ${pkgs} { }; in [ (builtins.hasContext p.runtimeShell) (builtins.hasContext (baseNameOf p.runtimeShell)) ]`,
      ),
    ).toEqual([true, true]);
    // Which is why a derivation name cannot come from it (Nix refuses a name with context).
    expect(
      await evalError(`let p = ${pkgs} { }; in (p.runCommand (baseNameOf p.runtimeShell) { } "touch $out").drvPath`),
    ).toContain("is not allowed to refer to a store path");
  });

  it("refuses buildNpmPackage arguments it does not take, and a nodejs without npm", async () => {
    const call = (extra: string) =>
      `let p = ${pkgs} { }; in (p.buildNpmPackage ({ pname = "x"; version = "1"; npmDeps = null; installPhase = "mkdir $out"; } // ${extra})).drvPath`;
    expect(await evalError(call(`{ npmBuildScripts = "build"; }`))).toContain(
      "buildNpmPackage (test stand-in) does not take npmBuildScripts",
    );
    expect(await evalError(call(`{ nodejs = p.nodejs-slim; }`))).toContain("has no npm");
    expect(await value<string>(call("{ }"))).toMatch(/-x-1\.drv$/);
  });

  it("builds mkShell as nixpkgs does since PR 153194: the environment, with every input built", async () => {
    const shell = await nixBuild(`let
        p = ${pkgs} { };
        tool = p.writeShellScriptBin "tool" "echo tool";
        hooked = p.writeText "hooked" "in the hook";
      in p.mkShell { packages = [ tool ]; shellHook = "cat \${hooked}"; }`);
    expect(nixStderrWithoutBusyRetries(shell.stderr), shell.stderr).not.toMatch(/error:/);
    const recorded = readFileSync(shell.outPath!, "utf8");
    expect(recorded).toContain("It is an internal implementation detail for pkgs.mkShell.");
    expect(recorded).toMatch(/declare -x nativeBuildInputs="\/nix\/store\/[a-z0-9]{32}-tool"/);
    expect(recorded).toMatch(/declare -x shellHook="cat \/nix\/store\/[a-z0-9]{32}-hooked"/);
  });

  it("refuses a writeShellScript bash cannot parse (stdenv.shellDryRun)", async () => {
    const broken = await nixBuild(`(${pkgs} { }).writeShellScript "broken" "if then fi"`);
    expect(broken.ok).toBe(false);
    expect(broken.stderr).toContain("syntax error");
  });

  it("has modelscan at the top level (pkgs/by-name/mo/modelscan), not in python3Packages", async () => {
    expect(await value(`let p = ${pkgs} { }; in [ (p ? modelscan) (p ? python3Packages) ]`)).toEqual([true, false]);
    expect(await value(`let p = ${pkgs} { }; in p.modelscan.meta.mainProgram or p.modelscan.name`)).toBe("modelscan");
  });
});
