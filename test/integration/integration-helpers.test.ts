/**
 * lib.integration with real Nix and the stand-in pkgs: evaluation checks of the options
 * and variables, then builds from models really fetched (from the project's Hub server on
 * loopback) and read back the way huggingface_hub reads a cache offline.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, readFileSync, readlinkSync, realpathSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertEveryFileFoundOffline, hfHubDownloadOffline, scanCacheDir } from "../helpers/hf-offline.js";
import { libPrelude, nixAvailable, nixBuild, nixEval, nixStderrWithoutBusyRetries } from "../helpers/nix.js";
import { modelFiles, startModelHub, type ModelHub, type PrefetchedModel } from "./fixtures.js";
import type { WrittenHubRepo } from "../helpers/hub-fixture.js";

const HASH = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
const tiny = `source.huggingface.repo = "acme/tiny"; hash = "${HASH}";`;

async function evalValue(expression: string): Promise<unknown> {
  const result = await nixEval(`${libPrelude} ${expression}`);
  expect(result.stderr, result.stderr).not.toContain("error:");
  return result.value;
}

async function evalError(expression: string): Promise<string> {
  const result = await nixEval(`${libPrelude} ${expression}`);
  expect(result.ok).toBe(false);
  return result.stderr;
}

async function build(expression: string, env?: NodeJS.ProcessEnv): Promise<string> {
  const result = await nixBuild(`${libPrelude} ${expression}`, { env });
  expect(nixStderrWithoutBusyRetries(result.stderr), result.stderr).not.toMatch(/error:/);
  return result.outPath!;
}

function shaMap(repo: { files: ReadonlyArray<{ path: string; sha256: string }> }): Map<string, string> {
  return new Map(repo.files.map((file) => [file.path, file.sha256]));
}

describe.skipIf(!nixAvailable)("fetchModel's integration option and lib.integration (evaluation)", () => {
  it("names the Hub folder after the source, and after integration.huggingface when set", async () => {
    expect(
      await evalValue(`let m = a: (nmr.fetchModel ({ ${tiny} } // a)).passthru.hubCacheFolder; in [
        (m { })
        (m { integration.huggingface = { org = "other"; model = "renamed"; }; })
        # null means "from the source", as the original design writes the defaults out.
        (m { integration.huggingface = { enable = true; org = null; model = null; }; })
        ((nmr.fetchModel { source.huggingface = { repo = "acme/squad"; repoType = "dataset"; }; hash = "${HASH}"; }).passthru.hubCacheFolder)
      ]`),
    ).toEqual(["models--acme--tiny", "models--other--renamed", "models--acme--tiny", "datasets--acme--squad"]);
  });

  it("refuses unknown or malformed integration options when the model is built", async () => {
    const typo = await evalError(`(nmr.fetchModel { ${tiny} integration.huggingfac.org = "x"; }).drvPath`);
    expect(typo).toContain("unknown option integration.huggingfac");
    expect(typo).toContain("Did you mean 'huggingface'?");
    expect(await evalError(`(nmr.fetchModel { ${tiny} integration.huggingface.model = "a--b"; }).drvPath`)).toContain(
      "integration.huggingface.model must be a Hub name",
    );
    expect(await evalError(`(nmr.fetchModel { ${tiny} integration.environment."1X" = "v"; }).outPath`)).toContain(
      "integration.environment must be",
    );
    expect(await evalError(`(nmr.fetchModel { ${tiny} integration.huggingface.enable = "yes"; }).drvPath`)).toContain(
      "integration.huggingface.enable must be true or false",
    );
  });

  it("exports a hub, offline flags and each model's environment with $out resolved", async () => {
    const value = (await evalValue(`let
        model = nmr.fetchModel { ${tiny} integration.environment.TINY_MODEL = "$out/snapshots"; };
        env = nmr.integration.mkEnvironment { models = [ model ]; environment.EXTRA = "x y"; };
      in { inherit (env) variables; model = "\${model}"; hub = "\${env.hub}"; roots = map toString env.roots; }`)) as {
      variables: Record<string, string>;
      model: string;
      hub: string;
      roots: string[];
    };
    expect(value.variables).toEqual({
      HF_HUB_CACHE: value.hub,
      HF_HUB_OFFLINE: "1",
      TRANSFORMERS_OFFLINE: "1",
      HF_DATASETS_OFFLINE: "1",
      TINY_MODEL: `${value.model}/snapshots`,
      EXTRA: "x y",
    });
    expect(value.hub).toMatch(/^\/nix\/store\/[a-z0-9]{32}-models-hf-hub$/);
    // The hub holds the model: rooting the hub is enough.
    expect(value.roots).toEqual([value.hub]);
    expect(
      await evalValue(
        `(nmr.integration.mkEnvironment { models = [ (nmr.fetchModel { ${tiny} }) ]; offline = false; hub = false; }).variables`,
      ),
    ).toEqual({});
  });

  it("refuses two models that set one variable differently, and models in the wrong directory", async () => {
    expect(
      await evalError(`(nmr.integration.mkEnvironment { models = [
        (nmr.fetchModel { name = "a"; ${tiny} integration.environment.MODEL = "$out"; })
        (nmr.fetchModel { name = "b"; ${tiny} integration.environment.MODEL = "$out/x"; })
      ]; }).variables`),
    ).toContain("two models set MODEL differently");
    expect(
      await evalError(`nmr.integration.mkHfHub { models = [ "/nix/store/00000000000000000000000000000000-x" ]; }`),
    ).toContain("is a bare path, so its Hub folder is unknown");
    expect(
      await evalError(
        `nmr.integration.mkHfHub { models = [ { path = "/nix/store/00000000000000000000000000000000-x"; layout = "ollama"; } ]; }`,
      ),
    ).toContain("has the Ollama layout");
    expect(await evalError(`nmr.integration.mkOllamaModels { models = [ (nmr.fetchModel { ${tiny} }) ]; }`)).toContain(
      "has the Hugging Face layout",
    );
  });

  it("instantiates definitions, with unpinned ones as placeholders that explain how to pin them", async () => {
    const value = await evalValue(`let m = nmr.instantiate {
        acme.tiny = { ${tiny} };
        acme.unpinned = { source.huggingface = { repo = "acme/later"; files = [ "*.json" ]; }; hash = null; };
      }; in { tiny = m.acme.tiny.name; unpinned = m.acme.unpinned.unpinned; broken = m.acme.unpinned.meta.broken;
               raw = (nmr.instantiateRaw { acme.tiny = { ${tiny} }; }).acme.tiny.name; }`);
    expect(value).toEqual({ tiny: "tiny", unpinned: true, broken: true, raw: "tiny-raw" });
    const stderr = await evalError(
      `(nmr.instantiate { acme.later = { source.huggingface = { repo = "acme/later"; files = [ "*.json" ]; }; hash = null; }; }).acme.later.drvPath`,
    );
    expect(stderr).toContain(`hash is missing for model "later"`);
    expect(stderr).toContain("nix-model-repo prefetch hf:acme/later@main --files '*.json'");
  });
});

describe.skipIf(!nixAvailable)("lib.integration built from fetched models", () => {
  let models: ModelHub;
  let alpha: WrittenHubRepo;
  let beta: WrittenHubRepo;
  let alphaFetched: PrefetchedModel;
  let betaFetched: PrefetchedModel;
  let work: string;

  const fetchModel = (model: PrefetchedModel, extra = "") =>
    `(nmr.fetchModel { ${model.args} hash = "${model.hash}"; ${extra} })`;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "nmr-integration-"));
    models = await startModelHub([
      { repoId: "acme/alpha", files: modelFiles("alpha") },
      {
        repoId: "acme/beta",
        files: modelFiles("beta"),
        extraCommits: [{ files: { ...modelFiles("beta-v1"), "only-in-v1.txt": "old" }, refs: ["v1"] }],
      },
    ]);
    [alpha, beta] = models.repos as [WrittenHubRepo, WrittenHubRepo];
    [alphaFetched, betaFetched] = await Promise.all([models.prefetch("acme/alpha"), models.prefetch("acme/beta")]);
  });

  afterAll(async () => {
    await models?.close();
    await rm(work, { recursive: true, force: true });
  });

  it("mkHfHub: two validated models, every file found offline as huggingface_hub finds it", async () => {
    const hub = await build(
      `nmr.integration.mkHfHub { models = [ ${fetchModel(alphaFetched)} ${fetchModel(betaFetched)} ]; }`,
    );
    await assertEveryFileFoundOffline(hub, "acme/alpha", shaMap(alpha));
    await assertEveryFileFoundOffline(hub, "acme/beta", shaMap(beta));
    expect(
      scanCacheDir(hub)
        .repos.map((repo) => repo.repoId)
        .sort(),
    ).toEqual(["acme/alpha", "acme/beta"]);
    // Nothing copied: each folder is a link to the (phase 2) model, which links to the download.
    expect(lstatSync(join(hub, "models--acme--alpha")).isSymbolicLink()).toBe(true);
    expect(realpathSync(join(hub, "models--acme--alpha", "blobs"))).toBe(join(alphaFetched.storePath, "blobs"));
  });

  it("mkHfHub: two revisions of one repo share its folder, and the asked-for revision owns its ref", async () => {
    const v1 = await models.prefetch("acme/beta", { revision: "v1", name: "beta-v1" });
    const [v1Commit, mainCommit] = [beta.extraCommits[0]!, beta];
    // The v1 output also has refs/main (pointing at v1, written because v1 is a tag): main must still win.
    for (const order of [
      `${fetchModel(v1)} ${fetchModel(betaFetched)}`,
      `${fetchModel(betaFetched)} ${fetchModel(v1)}`,
    ]) {
      const hub = await build(`nmr.integration.mkHfHub { models = [ ${order} ]; }`);
      expect(readFileSync(join(hub, "models--acme--beta", "refs", "main"), "latin1")).toBe(mainCommit.commit);
      expect(readFileSync(join(hub, "models--acme--beta", "refs", "v1"), "latin1")).toBe(v1Commit.commit);
      for (const [revision, commit] of [
        ["main", mainCommit],
        ["v1", v1Commit],
      ] as const) {
        for (const file of commit.files) {
          const found = hfHubDownloadOffline(hub, "acme/beta", file.path, { revision });
          expect(found).toBe(join(hub, "models--acme--beta", "snapshots", commit.commit, file.path));
          expect(readFileSync(found).equals(file.content)).toBe(true);
        }
      }
      expect(() => hfHubDownloadOffline(hub, "acme/beta", "only-in-v1.txt")).toThrow(/Cannot find/);
    }
  });

  it("mkShellHook: exports the hub and offline mode, and roots it against garbage collection", async () => {
    const hookExpression = `nmr.mkShellHook { models = [ ${fetchModel(alphaFetched, 'integration.environment.ALPHA = "$out";')} ]; }`;
    // Entering a dev shell builds what its hook refers to: build the shell, then run the hook.
    await build(`pkgs.mkShell { shellHook = ${hookExpression}; }`);
    const hook = (await evalValue(hookExpression)) as string;
    const project = await mkdtemp(join(work, "project-"));
    const output = execFileSync("bash", ["-c", `${hook}\nenv`], {
      cwd: project,
      env: { PATH: process.env["PATH"] },
      encoding: "utf8",
    });
    const env = Object.fromEntries(
      output
        .split("\n")
        .filter((l) => l.includes("="))
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    expect(env["HF_HUB_OFFLINE"]).toBe("1");
    expect(env["TRANSFORMERS_OFFLINE"]).toBe("1");
    expect(env["ALPHA"]).toMatch(/^\/nix\/store\/[a-z0-9]{32}-alpha$/);
    const hub = env["HF_HUB_CACHE"]!;
    await assertEveryFileFoundOffline(hub, "acme/alpha", shaMap(alpha));
    const root = join(project, ".nix-model-repo", "gcroots", "shell-hf-hub");
    expect(readlinkSync(root)).toBe(hub);
    // Registered with Nix: an indirect root in gcroots/auto points at the link.
    const auto = execFileSync("bash", ["-c", 'for l in /nix/var/nix/gcroots/auto/*; do readlink "$l"; done'], {
      encoding: "utf8",
    });
    expect(auto.split("\n")).toContain(root);
  });

  it("mkHfSymlinks: links into ~/.cache/huggingface/hub without clobbering real directories or foreign links", async () => {
    const linker = await build(
      `nmr.integration.mkHfSymlinks { models = [ ${fetchModel(alphaFetched)} ${fetchModel(betaFetched)} ]; }`,
    );
    const home = await mkdtemp(join(work, "home-"));
    const hubDir = join(home, ".cache", "huggingface", "hub");
    await mkdir(join(hubDir, "models--acme--beta", "snapshots"), { recursive: true }); // huggingface_hub's own download
    const run = () =>
      execFileSync(join(linker, "bin", "link-hf-models"), [], {
        env: { PATH: process.env["PATH"], HOME: home },
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
    run();
    expect(readlinkSync(join(hubDir, "models--acme--alpha"))).toMatch(
      /^\/nix\/store\/[a-z0-9]{32}-link-hf-models-hf-hub\/models--acme--alpha$/,
    );
    expect(lstatSync(join(hubDir, "models--acme--beta")).isDirectory()).toBe(true);
    await assertEveryFileFoundOffline(hubDir, "acme/alpha", shaMap(alpha));
    // The hub the links point into is rooted under $XDG_STATE_HOME (here ~/.local/state).
    expect(existsSync(join(home, ".local", "state", "nix-model-repo", "gcroots", "link-hf-models"))).toBe(true);

    // A link into the store is updated; one pointing elsewhere is the user's and stays.
    await rm(join(hubDir, "models--acme--alpha"));
    await symlink("/nix/store/00000000000000000000000000000000-old", join(hubDir, "models--acme--alpha"));
    await rm(join(hubDir, "models--acme--beta"), { recursive: true });
    await symlink("/srv/models/beta", join(hubDir, "models--acme--beta"));
    run();
    expect(readlinkSync(join(hubDir, "models--acme--alpha"))).toMatch(/-link-hf-models-hf-hub\/models--acme--alpha$/);
    expect(readlinkSync(join(hubDir, "models--acme--beta"))).toBe("/srv/models/beta");
  });

  it("mkHfSymlinks: the design's { modelPath; org; model; cacheDir; } gives a script a shellHook can run", async () => {
    const home = await mkdtemp(join(work, "home-"));
    const cacheDir = join(home, "hub");
    // As the design's mkShellHook uses it: interpolated as a command.
    const hook = (await evalValue(
      `"\${nmr.mkHfSymlinks { modelPath = ${fetchModel(alphaFetched)}; org = "acme"; model = "alpha"; cacheDir = "${cacheDir}"; }}"`,
    )) as string;
    expect(hook).toMatch(/^\/nix\/store\/[a-z0-9]{32}-setup-hf-symlinks$/);
    await build(
      `nmr.mkHfSymlinks { modelPath = ${fetchModel(alphaFetched)}; org = "acme"; model = "alpha"; cacheDir = "${cacheDir}"; }`,
    );
    execFileSync(hook, [], { env: { PATH: process.env["PATH"], HOME: home }, stdio: "ignore" });
    await assertEveryFileFoundOffline(cacheDir, "acme/alpha", shaMap(alpha));
    expect(await evalError(`nmr.mkHfSymlinks { modelPath = ${fetchModel(alphaFetched)}; model = "alpha"; }`)).toContain(
      'mkHfSymlinks: org is missing. Example: mkHfSymlinks { modelPath = tiny; org = "acme"; model = "tiny"; }',
    );
  });

  it("mkModelWrapper: wraps every program of a package with the variables", async () => {
    const wrapped = await build(`let
        tools = pkgs.runCommand "tools" { } ''
          mkdir -p $out/bin
          printf '#!/bin/bash\\necho "$0 $HF_HUB_CACHE $HF_HUB_OFFLINE $MY_VAR $*"\\n' > $out/bin/show
          cp $out/bin/show $out/bin/show2
          chmod +x $out/bin/show $out/bin/show2
        '';
      in nmr.integration.mkModelWrapper { package = tools; models = [ ${fetchModel(alphaFetched)} ]; environment.MY_VAR = "it's"; }`);
    for (const program of ["show", "show2"]) {
      const out = execFileSync(join(wrapped, "bin", program), ["a b"], {
        encoding: "utf8",
        env: { PATH: process.env["PATH"] },
      }).trim();
      const [script, hub, offline, ...rest] = out.split(" ");
      expect(script).toMatch(new RegExp(`^/nix/store/[a-z0-9]{32}-tools/bin/${program}$`));
      expect(offline).toBe("1");
      expect(rest.join(" ")).toBe("it's a b");
      await assertEveryFileFoundOffline(hub!, "acme/alpha", shaMap(alpha));
    }
  });

  it("mkModelWrapper: a program path with string context, and the design's { path; name; envVar; } records", async () => {
    // "${pkgs.bash}/bin/bash" carries string context, as "${python}/bin/python" does in nixpkgs.
    const wrapped = await build(`nmr.integration.mkModelWrapper {
        program = "\${pkgs.bash}/bin/bash";
        models = [ { path = ${fetchModel(alphaFetched)}; name = "alpha"; envVar = "ALPHA_PATH"; } ];
      }`);
    expect(existsSync(join(wrapped, "bin", "bash"))).toBe(true);
    expect(wrapped).toMatch(/-bash$/);
    const out = execFileSync(join(wrapped, "bin", "bash"), ["-c", 'echo "$ALPHA_PATH $HF_HUB_CACHE"'], {
      encoding: "utf8",
      env: { PATH: process.env["PATH"] },
    }).trim();
    const [alphaPath, hub] = out.split(" ");
    // The variable holds the model; the model is in the hub too (it is a fetchModel result).
    expect(readlinkSync(join(alphaPath!, "blobs"))).toBe(join(alphaFetched.storePath, "blobs"));
    await assertEveryFileFoundOffline(hub!, "acme/alpha", shaMap(alpha));
  });

  it("mkModelWrapper: takes only mainProgram and description from a package's meta", async () => {
    // A multi-output package as nixpkgs makes them: outputsToInstall names bin and man.
    const meta = (await evalValue(`let
        multi = (pkgs.runCommand "multi" { outputs = [ "bin" "man" "out" ]; meta = { mainProgram = "show"; description = "shows"; homepage = "https://example.org"; }; } ''
          mkdir -p $bin/bin $man $out
          printf '#!/bin/sh\\necho shown\\n' > $bin/bin/show
          chmod +x $bin/bin/show
        '');
        wrapper = nmr.integration.mkModelWrapper { package = multi; models = [ ${fetchModel(alphaFetched)} ]; };
      in builtins.seq wrapper.drvPath { inherit (wrapper.meta) mainProgram description outputsToInstall; homepage = wrapper.meta ? homepage; }`)) as Record<
      string,
      unknown
    >;
    // buildEnv (systemPackages, home.packages) installs meta.outputsToInstall: only "out" exists.
    expect(meta).toEqual({ mainProgram: "show", description: "shows", outputsToInstall: ["out"], homepage: false });
  });

  it("mkOllamaModels: manifests copied, blobs linked once, conflicting manifests refused", async () => {
    const ollamaModel = (name: string, manifest: string, blobs: string[]) => `(pkgs.runCommand "${name}" { } ''
        mkdir -p $out/manifests/registry.ollama.ai/library/${name} $out/blobs
        printf '%s' '${manifest}' > $out/manifests/registry.ollama.ai/library/${name}/latest
        ${blobs.map((blob) => `printf '%s' '${blob}' > $out/blobs/sha256-${blob}`).join("\n")}
      '')`;
    const a = ollamaModel("alpha", '{"a":1}', ["aaaa", "shared"]);
    const b = ollamaModel("beta", '{"b":1}', ["bbbb", "shared"]);
    const dir = await build(
      `nmr.integration.mkOllamaModels { models = [ { path = ${a}; layout = "ollama"; } { path = ${b}; layout = "ollama"; } ]; }`,
    );
    const manifest = join(dir, "manifests", "registry.ollama.ai", "library", "alpha", "latest");
    expect(lstatSync(manifest).isFile()).toBe(true);
    expect(readFileSync(manifest, "utf8")).toBe('{"a":1}');
    for (const blob of ["aaaa", "bbbb", "shared"])
      expect(lstatSync(join(dir, "blobs", `sha256-${blob}`)).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dir, "blobs", "sha256-shared"), "utf8")).toBe("shared");

    const clash = ollamaModel("alpha", '{"a":2}', []);
    const result = await nixBuild(
      `${libPrelude} nmr.integration.mkOllamaModels { models = [ { path = ${a}; layout = "ollama"; } { path = ${clash}; layout = "ollama"; } ]; }`,
    );
    expect(result.ok).toBe(false);
    expect(result.stderr).toContain(
      "two models provide manifests/registry.ollama.ai/library/alpha/latest with different content",
    );
  });
});
