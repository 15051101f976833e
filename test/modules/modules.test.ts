/**
 * The NixOS and Home Manager modules, evaluated with the real nixpkgs `lib` (NIXPKGS_LIB: a
 * nixpkgs or nixpkgs.lib checkout) and, for Home Manager, its own modules (HOME_MANAGER: a
 * checkout). Neither is vendored: without them these tests say they were skipped. The
 * generated tmpfiles rules, environment, daemon settings, groups, rooting and file links
 * are checked value by value; Home Manager's own builder then links a really fetched model.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { existsSync, lstatSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { assertEveryFileFoundOffline } from "../helpers/hf-offline.js";
import {
  nixAvailable,
  nixBuild,
  nixEval,
  nixReadableTempDir,
  repoRoot,
  nixStderrWithoutBusyRetries,
} from "../helpers/nix.js";
import { modelFiles, startModelHub, type ModelHub, type PrefetchedModel } from "../integration/fixtures.js";

const nixpkgsLibEnv = process.env["NIXPKGS_LIB"] ?? "";
const homeManager = process.env["HOME_MANAGER"] ?? "";
/** NIXPKGS_LIB may be a nixpkgs.lib checkout (lib/ inside) or the lib directory itself. */
const nixpkgsLib = existsSync(join(nixpkgsLibEnv, "lib", "default.nix")) ? join(nixpkgsLibEnv, "lib") : nixpkgsLibEnv;
const haveLib = nixAvailable && nixpkgsLibEnv !== "" && existsSync(join(nixpkgsLib, "default.nix"));
const haveHomeManager =
  haveLib && homeManager !== "" && existsSync(join(homeManager, "modules", "home-environment.nix"));

const HASH = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
const tiny = `{ source.huggingface.repo = "acme/tiny"; hash = "${HASH}"; }`;
const llama = `{ source.ollama.model = "llama3.2:1b"; hash = "${HASH}"; }`;
const STORE = /^\/nix\/store\/[a-z0-9]{32}-/;

function nixos(configuration: string, select: string, withOllamaService = false): string {
  return `let config = import ${repoRoot}/test/modules/nixos-harness.nix {
      nixpkgsLib = ${nixpkgsLib}; withOllamaService = ${withOllamaService};
      configuration = { lib, ... }: { ${configuration} };
    }; in ${select}`;
}

function homeManagerConfig(configuration: string, select: string, withOllamaService = false): string {
  return `let config = import ${repoRoot}/test/modules/home-manager-harness.nix {
      nixpkgsLib = ${nixpkgsLib}; homeManager = ${homeManager}; withOllamaService = ${withOllamaService};
      configuration = { lib, ... }: { ${configuration} };
    }; in ${select}`;
}

/**
 * nix-build in Nix's sandbox (root here, so Nix 2.8 can set it up) with `extraSandboxPaths`
 * as a NixOS module's nix.settings.extra-sandbox-paths would set it. The host's /bin, /usr
 * and libraries are mounted too, for the builder's /bin/sh.
 */
async function sandboxedBuild(expression: string, extraSandboxPaths: readonly string[]) {
  const dir = await nixReadableTempDir("nmr-sandbox-");
  const file = join(dir, "default.nix");
  await writeFile(file, expression);
  const args = ["--no-out-link", "--option", "substituters", "", "--option", "sandbox", "true"]
    .concat([
      "--option",
      "sandbox-paths",
      "/bin /usr /lib /lib64",
      "--option",
      "extra-sandbox-paths",
      extraSandboxPaths.join(" "),
    ])
    .concat([file]);
  return new Promise<{ outPath: string; stderr: string }>((resolve) => {
    execFile("nix-build", args, (_error, stdout, stderr) => resolve({ outPath: stdout.trim(), stderr }));
  });
}

async function value<T>(expression: string): Promise<T> {
  const result = await nixEval(expression);
  expect(result.stderr, result.stderr).not.toContain("error:");
  return result.value as T;
}

describe.skipIf(!haveLib)("NixOS module services.model-repo with the real nixpkgs lib (set NIXPKGS_LIB to run)", () => {
  interface NixosView {
    rules: string[];
    variables: Record<string, string>;
    sandboxPaths: string[];
    environmentFile: string[] | null;
    groups: Record<string, { members: string[] }>;
    dependencies: string[];
    packages: Record<string, string>;
    warnings: string[];
  }
  const view = `{
      rules = config.systemd.tmpfiles.rules;
      variables = config.environment.variables;
      sandboxPaths = config.nix.settings.extra-sandbox-paths;
      environmentFile = config.systemd.services.nix-daemon.serviceConfig.EnvironmentFile or null;
      groups = config.users.groups;
      dependencies = map toString config.system.extraDependencies;
      packages = builtins.mapAttrs (_: toString) config.services.model-repo.packages;
      warnings = config.warnings;
    }`;

  it("links a Hub cache and an OLLAMA_MODELS directory with tmpfiles rules and roots everything", async () => {
    const v = await value<NixosView>(
      nixos(`services.model-repo = { enable = true; models = { tiny = ${tiny}; llama = ${llama}; }; };`, view),
    );
    const [hub, ollama] = [v.rules[2]!.split(" ").pop()!, v.rules[3]!.split(" ").pop()!];
    expect(v.rules).toEqual([
      "d /var/cache/model-repo 0755 root root -",
      "d /var/cache/model-repo/huggingface 0755 root root -",
      `L+ /var/cache/model-repo/huggingface/hub - - - - ${hub}`,
      `L+ /var/cache/model-repo/ollama - - - - ${ollama}`,
    ]);
    expect(hub).toMatch(/-model-repo-hf-hub$/);
    expect(ollama).toMatch(/-model-repo-ollama$/);
    expect(v.variables).toEqual({
      HF_HUB_CACHE: "/var/cache/model-repo/huggingface/hub",
      HF_HUB_OFFLINE: "1",
      TRANSFORMERS_OFFLINE: "1",
      HF_DATASETS_OFFLINE: "1",
      OLLAMA_MODELS: "/var/cache/model-repo/ollama",
      OLLAMA_NOPRUNE: "1",
    });
    expect(v.packages["tiny"]).toMatch(/-tiny$/);
    expect(v.dependencies.sort()).toEqual([v.packages["tiny"], v.packages["llama"], hub, ollama].sort());
    expect(v.groups).toEqual({});
    expect(v.environmentFile).toBeNull();
    expect(v.sandboxPaths).toEqual([]);
  });

  it("leaves cacheDir open with allowedUsers = [ ] (the default, as in the design)", async () => {
    const v = await value<NixosView>(
      nixos(`services.model-repo = { enable = true; allowedUsers = [ ]; models.tiny = ${tiny}; };`, view),
    );
    expect(v.rules.slice(0, 2)).toEqual([
      "d /var/cache/model-repo 0755 root root -",
      "d /var/cache/model-repo/huggingface 0755 root root -",
    ]);
    expect(v.groups).toEqual({});
  });

  it("takes cacheDir as a path literal without copying it into the store, and refuses a relative one", async () => {
    const v = await value<NixosView>(
      nixos(`services.model-repo = { enable = true; cacheDir = /srv/models; models.tiny = ${tiny}; };`, view),
    );
    expect(v.rules[0]).toBe("d /srv/models 0755 root root -");
    expect(v.variables["HF_HUB_CACHE"]).toBe("/srv/models/huggingface/hub");
    const relative = await nixEval(
      nixos(`services.model-repo = { enable = true; cacheDir = "models"; models.tiny = ${tiny}; };`, view),
    );
    expect(relative.ok).toBe(false);
    expect(relative.stderr).toContain("services.model-repo.cacheDir");
  });

  it("sets its variables at mkDefault priority, so the user's own win", async () => {
    const v = await value<NixosView>(
      nixos(
        `services.model-repo = { enable = true; models.tiny = ${tiny}; };
         environment.variables.HF_HUB_OFFLINE = "0";`,
        view,
      ),
    );
    expect(v.variables["HF_HUB_OFFLINE"]).toBe("0");
    expect(v.variables["TRANSFORMERS_OFFLINE"]).toBe("1");
  });

  it("restricts cacheDir to a group of allowedUsers", async () => {
    const v = await value<NixosView>(
      nixos(
        `services.model-repo = { enable = true; cacheDir = "/srv/models"; allowedUsers = [ "alice" "bob" ]; models.tiny = ${tiny}; };
             users.groups.model-repo.members = [ "carol" ];`,
        view,
      ),
    );
    expect(v.rules.slice(0, 2)).toEqual([
      "d /srv/models 0750 root model-repo -",
      "d /srv/models/huggingface 0750 root model-repo -",
    ]);
    expect(v.groups["model-repo"]!.members.sort()).toEqual(["alice", "bob", "carol"]);
    expect(v.variables["HF_HUB_CACHE"]).toBe("/srv/models/huggingface/hub");
  });

  it("hands a token to the builds: daemon EnvironmentFile, sandbox path, tokenFile for Hugging Face models only", async () => {
    const v = await value<NixosView & { auth: Record<string, unknown> }>(
      nixos(
        `services.model-repo = {
           enable = true;
           auth = { environmentFile = "/run/secrets/model-repo.env"; tokenFile = "/run/secrets/hf-token"; };
           models = { tiny = ${tiny}; own = ${tiny} // { name = "own"; auth.tokenEnvVar = "OWN_TOKEN"; }; other = ${tiny} // { name = "other"; auth.tokenFile = "/run/secrets/other"; }; llama = ${llama}; };
         };
         systemd.services.nix-daemon.serviceConfig.EnvironmentFile = [ "/etc/nix/other.env" ];`,
        `${view} // { auth = builtins.mapAttrs (_: m: m.spec.auth) config.services.model-repo.packages; }`,
      ),
    );
    // Optional to systemd ("-") and to Nix ("?"): a missing secret locks nothing out.
    expect(v.environmentFile!.sort()).toEqual(["-/run/secrets/model-repo.env", "/etc/nix/other.env"]);
    expect(v.sandboxPaths).toEqual(["/run/secrets/hf-token?"]);
    expect(v.auth).toEqual({
      tiny: { tokenEnvVar: null, tokenFile: "/run/secrets/hf-token" },
      own: { tokenEnvVar: "OWN_TOKEN", tokenFile: "/run/secrets/hf-token" },
      other: { tokenEnvVar: null, tokenFile: "/run/secrets/other" },
      // A Hub token is never sent to another registry.
      llama: { tokenEnvVar: null, tokenFile: null },
    });
    // The secret's path is in the settings, never its content in the store.
    expect(JSON.stringify(v)).not.toMatch(/hf_[A-Za-z0-9]/);
  });

  it("wires services.ollama only where it exists, and warns otherwise", async () => {
    const config = `services.model-repo = { enable = true; models.llama = ${llama}; ollama.configureService = true; };`;
    const wired = await value<{ models: string; env: Record<string, string>; rules: string[] }>(
      nixos(
        config,
        `{ models = config.services.ollama.models; env = config.services.ollama.environmentVariables; rules = config.systemd.tmpfiles.rules; }`,
        true,
      ),
    );
    expect(wired.models).toMatch(STORE);
    expect(wired.models).toMatch(/-model-repo-ollama$/);
    expect(wired.rules).toContain(`L+ /var/cache/model-repo/ollama - - - - ${wired.models}`);
    expect(wired.env).toEqual({ OLLAMA_NOPRUNE: "1" });
    const explicit = await value<string>(
      nixos(`${config} services.ollama.models = "/data/ollama";`, "config.services.ollama.models", true),
    );
    expect(explicit).toBe("/data/ollama");
    const unwired = await value<NixosView>(nixos(config, view));
    expect(unwired.warnings).toEqual([expect.stringContaining("has no services.ollama.models option")]);
  });

  it("leaves the Hub cache out when huggingfaceIntegration is off, and sets HF_HOME only on request", async () => {
    const off = await value<NixosView>(
      nixos(`services.model-repo = { enable = true; huggingfaceIntegration = false; models.tiny = ${tiny}; };`, view),
    );
    expect(off.rules).toEqual(["d /var/cache/model-repo 0755 root root -"]);
    expect(off.variables).toEqual({});
    expect(off.dependencies).toEqual([off.packages["tiny"]]);
    const home = await value<NixosView>(
      nixos(
        `services.model-repo = { enable = true; setHfHome = true; offline = false; models.tiny = ${tiny}; };`,
        view,
      ),
    );
    expect(home.variables).toEqual({
      HF_HUB_CACHE: "/var/cache/model-repo/huggingface/hub",
      HF_HOME: "/var/cache/model-repo/huggingface",
    });
    const disabled = await value<NixosView>(nixos(`services.model-repo.models.tiny = ${tiny};`, view));
    expect([disabled.rules, disabled.variables, disabled.dependencies]).toEqual([[], {}, []]);
  });

  it("a missing token file locks no build out, and the sandbox path is every build's", async () => {
    const secrets = await nixReadableTempDir("nmr-secrets-");
    const tokenFile = join(secrets, "hf-token");
    const paths = await value<string[]>(
      nixos(
        `services.model-repo = { enable = true; auth.tokenFile = "${tokenFile}"; models.tiny = ${tiny}; };`,
        "config.nix.settings.extra-sandbox-paths",
      ),
    );
    // A build that has nothing to do with models, in Nix's sandbox with the module's setting:
    // it must build while the secret is missing (as during a first nixos-rebuild)...
    const unrelated = (label: string) =>
      `derivation { name = "unrelated-${label}"; system = builtins.currentSystem; builder = "/bin/sh";
         args = [ "-c" "if [ -e ${tokenFile} ]; then read -r token < ${tokenFile}; echo $token > $out; else echo absent > $out; fi" ]; }`;
    const missing = await sandboxedBuild(unrelated(`missing-${Date.now()}`), paths);

    expect(nixStderrWithoutBusyRetries(missing.stderr), missing.stderr).not.toMatch(/error:/);
    expect(readFileSync(missing.outPath, "utf8").trim()).toBe("absent");
    // ...and once it exists, every sandboxed build sees it, not only the models' (docs/nixos.md).
    writeFileSync(tokenFile, "hf_example\n", { mode: 0o644 });
    const present = await sandboxedBuild(unrelated(`present-${Date.now()}`), paths);
    expect(readFileSync(present.outPath, "utf8").trim()).toBe("hf_example");
    await rm(secrets, { recursive: true, force: true });
  });

  it("takes the original design's example configuration (§10) as it is written", async () => {
    const v = await value<NixosView>(
      nixos(
        `services.model-repo = {
           enable = true;
           models = {
             llama-2-7b = {
               source.huggingface.repo = "meta-llama/Llama-2-7b-hf";
               hash = "${HASH}";
               validation = { };
             };
           };
           cacheDir = "/var/cache/model-repo";
           allowedUsers = [ ];
           huggingfaceIntegration = true;
         };`,
        view,
      ),
    );
    expect(v.packages["llama-2-7b"]).toMatch(/-llama-2-7b$/);
    expect(v.variables["HF_HUB_CACHE"]).toBe("/var/cache/model-repo/huggingface/hub");
    expect(v.rules[0]).toBe("d /var/cache/model-repo 0755 root root -");
  });

  it("names the model option in fetchModel's errors", async () => {
    const result = await nixEval(
      nixos(
        `services.model-repo = { enable = true; models.tiny = ${tiny} // { hsah = "x"; }; };`,
        "config.system.extraDependencies",
      ),
    );
    expect(result.ok).toBe(false);
    expect(result.stderr).toContain("unknown option hsah");
  });
});

describe.skipIf(!haveHomeManager)(
  "Home Manager module programs.model-repo with Home Manager's own modules (set NIXPKGS_LIB and HOME_MANAGER to run)",
  () => {
    interface HomeView {
      files: Record<string, string>;
      variables: Record<string, string>;
      dependencies: string[];
      packages: string[];
    }
    const view = `{
      files = builtins.mapAttrs (_: f: toString f.source) config.home.file;
      variables = config.home.sessionVariables;
      dependencies = map toString config.home.extraDependencies;
      packages = map (p: p.name) config.home.packages;
    }`;

    let models: ModelHub;
    let fetched: PrefetchedModel;

    beforeAll(async () => {
      models = await startModelHub([{ repoId: "acme/home", files: modelFiles("home") }]);
      fetched = await models.prefetch("acme/home");
    });
    afterAll(async () => models?.close());

    it("links each Hugging Face model into ~/.cache/huggingface/hub and sets offline mode", async () => {
      const v = await value<HomeView>(
        homeManagerConfig(
          `programs.model-repo = { enable = true; models = { tiny = ${tiny}; llama = ${llama}; }; };`,
          view,
        ),
      );
      const hubLink = v.files[".cache/huggingface/hub/models--acme--tiny"]!;
      expect(hubLink).toMatch(/-home-hf-hub\/models--acme--tiny$/);
      const ollamaDir = v.files[".local/share/nix-model-repo/ollama"]!;
      expect(ollamaDir).toMatch(/-home-ollama-models$/);
      expect(Object.keys(v.files).sort()).toEqual([
        ".cache/huggingface/hub/models--acme--tiny",
        ".local/share/nix-model-repo/ollama",
      ]);
      expect(v.variables).toEqual({
        HF_HUB_OFFLINE: "1",
        TRANSFORMERS_OFFLINE: "1",
        HF_DATASETS_OFFLINE: "1",
        OLLAMA_MODELS: "/home/alice/.local/share/nix-model-repo/ollama",
        OLLAMA_NOPRUNE: "1",
      });
      // The links root the hub and the Ollama directory through the generation; nothing is
      // merged into the profile (a model's blobs/ would land in ~/.nix-profile).
      expect(v.dependencies.sort()).toEqual([hubLink.replace(/\/models--acme--tiny$/, ""), ollamaDir].sort());
      expect(v.packages.filter((name) => /tiny|llama|model-repo/.test(name))).toEqual([]);
    });

    it("roots models without links, and honours offline and the Ollama switches", async () => {
      const v = await value<HomeView & { ollama: Record<string, string> }>(
        homeManagerConfig(
          `programs.model-repo = { enable = true; huggingfaceIntegration = false; offline = false; models = { tiny = ${tiny}; llama = ${llama}; };
           ollama = { setSessionVariables = false; configureService = true; directory = "models/ollama"; }; };`,
          `${view} // { ollama = config.services.ollama.environmentVariables; }`,
          true,
        ),
      );
      expect(Object.keys(v.files)).toEqual(["models/ollama"]);
      expect(v.variables).toEqual({});
      expect(v.ollama).toEqual({ OLLAMA_MODELS: "/home/alice/models/ollama", OLLAMA_NOPRUNE: "1" });
      expect(v.dependencies.some((d) => /-tiny$/.test(d))).toBe(true);
    });

    it("still takes the design's offlineMode, renamed to offline, with Home Manager's warning", async () => {
      const v = await value<{ variables: Record<string, string>; warnings: string[] }>(
        homeManagerConfig(
          `programs.model-repo = { enable = true; offlineMode = false; models.tiny = ${tiny}; };`,
          "{ variables = config.home.sessionVariables; warnings = config.warnings; }",
        ),
      );
      expect(v.variables).toEqual({});
      expect(v.warnings).toEqual([
        expect.stringContaining(
          "programs.model-repo.offlineMode' defined in `<unknown-file>' has been renamed to `programs.model-repo.offline'",
        ),
      ]);
    });

    it("takes the original design's example configuration (§11) as it is written", async () => {
      const v = await value<HomeView>(
        homeManagerConfig(
          `programs.model-repo = {
             enable = true;
             models.llama-2-7b = { source.huggingface.repo = "meta-llama/Llama-2-7b-hf"; hash = "${HASH}"; };
             huggingfaceIntegration = true;
             offlineMode = true;
           };`,
          view,
        ),
      );
      expect(Object.keys(v.files)).toEqual([".cache/huggingface/hub/models--meta-llama--Llama-2-7b-hf"]);
      expect(v.variables).toEqual({ HF_HUB_OFFLINE: "1", TRANSFORMERS_OFFLINE: "1", HF_DATASETS_OFFLINE: "1" });
    });

    it("sets its session variables at mkDefault priority, so the user's own win", async () => {
      const v = await value<Record<string, string>>(
        homeManagerConfig(
          `programs.model-repo = { enable = true; models.tiny = ${tiny}; };
           home.sessionVariables.HF_HUB_OFFLINE = "0";`,
          "config.home.sessionVariables",
        ),
      );
      expect(v).toEqual({ HF_HUB_OFFLINE: "0", TRANSFORMERS_OFFLINE: "1", HF_DATASETS_OFFLINE: "1" });
    });

    it("Home Manager's home-files links a fetched model that huggingface_hub finds offline", async () => {
      const expression = homeManagerConfig(
        `programs.model-repo = { enable = true; models.home = { ${fetched.args} hash = "${fetched.hash}"; }; };`,
        "config.home-files",
      );
      const result = await nixBuild(expression);
      expect(nixStderrWithoutBusyRetries(result.stderr), result.stderr).not.toMatch(/error:/);
      const hubDir = join(result.outPath!, ".cache", "huggingface", "hub");
      expect(lstatSync(join(hubDir, "models--acme--home")).isSymbolicLink()).toBe(true);
      expect(readlinkSync(join(hubDir, "models--acme--home"))).toMatch(/-home-hf-hub\/models--acme--home$/);
      await assertEveryFileFoundOffline(
        hubDir,
        "acme/home",
        new Map(models.repos[0]!.files.map((f) => [f.path, f.sha256])),
      );
    });
  },
);
