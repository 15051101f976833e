/**
 * The original design's examples (the seed ARCHITECTURE.md), pasted as a user would, with
 * the flake evaluated on the stand-in nixpkgs: each evaluates (its derivation can be
 * instantiated), or stops with an error that says exactly what to write. Section numbers
 * name where each comes from. Only the hashes are filled in (the design writes "sha256-...").
 */
import { describe, expect, it } from "vitest";
import { nixAvailable, nixEval, repoRoot, SOME_HASH } from "../helpers/nix.js";
import { extendedStandardValidation } from "./design-snippets.js";

/** What the design's snippets assume is in scope (§17.3). */
const prelude = `let
  f = import ${repoRoot}/test/integration/flake-stand-in.nix;
  nix-model-repo = f.nix-model-repo;
  inherit (f) pkgs;
  system = builtins.currentSystem;
  lib = pkgs.lib;
  fetchModel = nix-model-repo.lib.fetchModel pkgs;
  sources = nix-model-repo.lib.sources;
  presets = nix-model-repo.lib.validation.presets;
  validators = nix-model-repo.lib.validation.validators;
  hash = "${SOME_HASH}";
in`;

/** Instantiates every derivation in `expression` (an attribute set of them): `nix-build` would start from these. */
async function instantiates(expression: string): Promise<Record<string, string>> {
  const result = await nixEval(`${prelude} builtins.mapAttrs (_: d: d.drvPath) (${expression})`);
  expect(result.stderr, result.stderr).not.toContain("error:");
  return result.value as Record<string, string>;
}

async function failsWith(expression: string): Promise<string> {
  const result = await nixEval(`${prelude} ${expression}`);
  expect(result.ok, `expected an error from ${expression}`).toBe(false);
  return result.stderr;
}

describe.skipIf(!nixAvailable)("the original design's examples, pasted", () => {
  it("§6.1: fetchModel with every option written out at its default", async () => {
    await instantiates(`{
      model = fetchModel {
        name = "llama-2-7b";
        source.huggingface = { repo = "meta-llama/Llama-2-7b-hf"; revision = "main"; files = null; };
        inherit hash;
        validation = { enable = true; validators = []; skipDefaults = false; onFailure = "abort"; };
        integration = {
          huggingface = { enable = true; org = null; model = null; };
          environment = {};
        };
        network = { timeout.connect = 30; timeout.read = 300; retry.maxAttempts = 3; proxy = null; };
        auth = { tokenEnvVar = null; tokenFile = null; };
        onFailure = { action = "clean"; notify = null; };
        meta = {};
      };
    }`);
    // org = null and model = null are the defaults: the folder still comes from the repo.
    expect(
      (
        await nixEval(
          `${prelude} (fetchModel { source.huggingface.repo = "meta-llama/Llama-2-7b-hf"; inherit hash; integration.huggingface = { enable = true; org = null; model = null; }; }).passthru.hubCacheFolder`,
        )
      ).value,
    ).toBe("models--meta-llama--Llama-2-7b-hf");
  });

  it("§14.1: the full configuration example", async () => {
    // nixpkgs has no lib.licenses.llama2 (lib/licenses/licenses.nix); unfree is what it gives such models.
    await instantiates(`{
      simple = fetchModel {
        name = "llama-2-7b";
        source.huggingface.repo = "meta-llama/Llama-2-7b-hf";
        inherit hash;
      };
      complete = fetchModel {
        name = "llama-2-7b-secure";
        source = {
          huggingface = {
            repo = "meta-llama/Llama-2-7b-hf";
            revision = "main";
            files = [ "*.safetensors" "config.json" "tokenizer*" ];
          };
        };
        inherit hash;
        validation = {
          enable = true;
          validators = [
            {
              name = "custom-check";
              command = "\${pkgs.writeShellScript "my-validator.sh" "test -f $1/config.json"} $src";
              onFailure = "warn";
            }
          ];
          skipDefaults = false;
        };
        integration = {
          huggingface = {
            enable = true;
            org = "meta-llama";
            model = "Llama-2-7b-hf";
          };
          environment = {
            LLAMA_MODEL_PATH = "$out";
          };
        };
        network = {
          bandwidth.limit = "50M";
          timeout = {
            connect = 30;
            read = 300;
          };
          retry = {
            maxAttempts = 3;
            baseDelay = 2;
          };
          proxy = null;
        };
        auth = {
          tokenEnvVar = "HF_TOKEN";
          tokenFile = "/run/secrets/hf-token";
        };
        onFailure = {
          action = "clean";
          notify = null;
        };
        meta = {
          description = "Llama 2 7B language model";
          license = { shortName = "unfree"; free = false; };
          platforms = lib.platforms.all;
        };
      };
    }`);
  });

  it("§15.4: the presets, used and extended (with the design's jq validator)", async () => {
    await instantiates(`{
      prod-model = fetchModel {
        name = "mistral-prod";
        source.huggingface.repo = "mistralai/Mistral-7B-v0.1";
        inherit hash;
        validation = presets.strict;
      };
      custom-validated = fetchModel {
        name = "my-model";
        source.huggingface.repo = "my-org/my-model";
        inherit hash;
        validation = ${extendedStandardValidation};
      };
      ci-model = fetchModel {
        name = "test-model";
        source.huggingface.repo = "my-org/my-model";
        inherit hash;
        validation = presets.none;
      };
      dev-model = fetchModel {
        name = "dev-model";
        source.huggingface.repo = "my-org/my-model";
        inherit hash;
        validation = presets.minimal;
      };
      secure-model = fetchModel {
        name = "secure-model";
        source.huggingface.repo = "my-org/my-model";
        inherit hash;
        validation = presets.paranoid;
      };
    }`);
  });

  it("§15.2, §15.5: the design's own preset shapes and the configuration reference", async () => {
    await instantiates(`{
      # §15.2's minimal, written out: no scanner (pickleScan = false), failures only warn.
      minimal = fetchModel {
        source.huggingface.repo = "acme/tiny";
        inherit hash;
        validation = {
          enable = true;
          defaults = { modelscan = false; pickleScan = false; checksums = true; };
          validators = [];
          onFailure = "warn";
          timeout = 60;
        };
      };
      reference = fetchModel {
        source.huggingface.repo = "acme/tiny";
        inherit hash;
        validation = {
          enable = true;
          defaults = {
            modelscan = true;
            pickleScan = true;
            checksums = true;
          };
          validators = [
            {
              name = "my-validator";
              description = "Optional description";
              command = "test -n \\"$src\\"";
              onFailure = "abort";
              timeout = 300;
            }
          ];
          skipDefaults = false;
          onFailure = "abort";
          timeout = 300;
        };
      };
    }`);
    expect(
      (
        await nixEval(
          `${prelude} map (v: v.name) (fetchModel { source.huggingface.repo = "acme/tiny"; inherit hash; validation.defaults = { modelscan = true; pickleScan = true; checksums = true; }; }).passthru.validation.validators`,
        )
      ).value,
    ).toEqual(["scanner", "modelscan"]);
  });

  it("§16.1: an organisation's own source factories", async () => {
    await instantiates(`let
        mkMlflowSource = { modelName, version ? null, stage ? null }: {
          mlflow = {
            trackingUri = "https://mlflow.mycompany.com";
            inherit modelName;
            modelVersion = version;
            modelStage = stage;
          };
        };
        mkS3Source = { prefix, files ? null }: {
          s3 = {
            bucket = "mycompany-model-repo";
            region = "us-west-2";
            inherit prefix files;
          };
        };
        mkHfSource = { model, revision ? "main", files ? null }: {
          huggingface = {
            repo = "mycompany/\${model}";
            inherit revision files;
          };
        };
      in {
        sft-v1 = fetchModel { name = "sft-v1"; source = mkMlflowSource { modelName = "mistral-sft"; version = "1"; }; inherit hash; };
        sft-prod = fetchModel { name = "sft-prod"; source = mkMlflowSource { modelName = "mistral-sft"; stage = "Production"; }; inherit hash; };
        embeddings = fetchModel { name = "embeddings"; source = mkS3Source { prefix = "embeddings/v3"; }; inherit hash; };
        hf = fetchModel { name = "hf"; source = mkHfSource { model = "llm"; }; inherit hash; };
      }`);
    // The Git-Xet factory's source, as the design writes it: its short rev is refused with
    // the command that finds the full one; with the full commit it instantiates.
    const xet = await failsWith(`(fetchModel {
        name = "llm-experimental";
        source.git-xet = { url = "https://github.com/mycompany/llm-models"; rev = "abc123"; files = null; xet.endpoint = "https://xethub.mycompany.com"; };
        inherit hash;
      }).drvPath`);
    expect(xet).toContain('source.git-xet.rev must be a full 40-hex commit id, but it is the string "abc123"');
    expect(xet).toContain("git ls-remote https://github.com/mycompany/llm-models abc123");
    await instantiates(`{
        llm-experimental = fetchModel {
          name = "llm-experimental";
          source.git-xet = { url = "https://github.com/mycompany/llm-models"; rev = "${"a".repeat(40)}"; files = null; xet.endpoint = "https://xethub.mycompany.com"; };
          inherit hash;
        };
      }`);
  });

  it("§16.2, §16.3: the library's factories", async () => {
    await instantiates(`let
        myMlflow = sources.mkMlflow { trackingUri = "https://mlflow.mycompany.com"; };
        myS3 = sources.mkS3 { bucket = "mycompany-models"; region = "us-west-2"; };
        myLfs = sources.mkGitLfs { baseUrl = "https://git.mycompany.com"; };
        myXet = sources.mkGitXet { endpoint = "https://xethub.mycompany.com"; };
      in {
        llama = fetchModel { name = "llama-2-7b"; source = sources.huggingface.metaLlama "Llama-2-7b-hf"; inherit hash; };
        mistral = fetchModel { name = "mistral-7b"; source = sources.huggingface.mistralai "Mistral-7B-v0.1"; inherit hash; };
        phi = fetchModel { name = "phi-2"; source = sources.huggingface.microsoft "phi-2"; inherit hash; };
        gemma = fetchModel { name = "gemma"; source = sources.huggingface.google "gemma-2b"; inherit hash; };
        other = fetchModel { name = "tiny"; source = sources.huggingface.org "acme" "tiny"; inherit hash; };
        sft-prod = fetchModel { name = "sft-prod"; source = myMlflow { modelName = "mistral-sft"; stage = "Production"; }; inherit hash; };
        embeddings-v2 = fetchModel { name = "embeddings-v2"; source = myS3 { prefix = "embeddings/v2"; }; inherit hash; };
        lfs = fetchModel { name = "lfs"; source = myLfs { repo = "models/tiny.git"; rev = "${"0".repeat(40)}"; }; inherit hash; };
        xet = fetchModel { name = "mistral-7b-xet"; source = myXet { url = "https://github.com/mycompany/model-mirrors"; rev = "${"0".repeat(40)}"; files = [ "mistral-7b/*" ]; }; inherit hash; };
        llama-quantized = fetchModel { name = "llama-quantized"; source = sources.ollama.model "llama2:7b-q4_0"; inherit hash; };
      }`);
    // mkHttp { baseUrl }, used as the design writes it (no sha256): fetchModel asks for the
    // sha256 and prints the command that gives it.
    const http = await failsWith(`let files = sources.mkHttp { baseUrl = "https://models.mycompany.com/tiny"; };
      in (fetchModel { name = "tiny"; source = files { path = "model.safetensors"; }; inherit hash; }).drvPath`);
    expect(http).toContain(
      "source.url.urls.0.sha256 is missing: every file is pinned by its sha256. Get it with: nix-model-repo prefetch 'url:https://models.mycompany.com/tiny/model.safetensors'",
    );
  });

  it("§16.4: whole configurations reused with //", async () => {
    await instantiates(`let
        baseConfig = {
          validation = presets.standard;
          integration.huggingface.enable = true;
          network = {
            timeout.connect = 30;
            timeout.read = 600;
            retry.maxAttempts = 3;
          };
        };
        prodConfig = baseConfig // { validation = presets.strict; };
        devConfig = baseConfig // { validation = presets.minimal; };
        withDefaults = config: model: config // model;
        withProdDefaults = withDefaults prodConfig;
        withDevDefaults = withDefaults devConfig;
      in {
        mistral-prod = fetchModel (withProdDefaults { name = "mistral-prod"; source = sources.huggingface.mistralai "Mistral-7B-v0.1"; inherit hash; });
        llama-prod = fetchModel (withProdDefaults { name = "llama-prod"; source = sources.huggingface.metaLlama "Llama-2-7b-hf"; inherit hash; });
        mistral-dev = fetchModel (withDevDefaults { name = "mistral-dev"; source = sources.huggingface.mistralai "Mistral-7B-v0.1"; inherit hash; });
      }`);
  });

  it("§16.5: one model from several sources", async () => {
    await instantiates(`{
      hf = fetchModel { name = "mistral-7b-hf"; source = sources.huggingface.mistralai "Mistral-7B-v0.1"; inherit hash; };
      ollama = fetchModel { name = "mistral-7b-ollama"; source = sources.ollama.model "mistral:7b"; inherit hash; };
      s3 = fetchModel {
        name = "mistral-7b-s3";
        source.s3 = { bucket = "mycompany-models"; prefix = "mistral/7b-v0.1"; region = "us-west-2"; };
        inherit hash;
      };
    }`);
  });

  it("§9, §17.3: dev shells with mkShellHook, the registry, and pkgs-first helpers", async () => {
    await instantiates(`let
        llama = fetchModel { name = "llama-2-7b"; source.huggingface.repo = "meta-llama/Llama-2-7b-hf"; inherit hash; };
        mistral = fetchModel { name = "mistral-7b"; source.huggingface.repo = "mistralai/Mistral-7B-v0.1"; inherit hash; };
      in {
        # §9.2
        shell92 = pkgs.mkShell {
          packages = [ llama ];
          shellHook = ''
            \${nix-model-repo.lib.mkShellHook pkgs { models = [ { path = llama; org = "meta-llama"; model = "Llama-2-7b-hf"; } ]; }}
            export HF_HUB_OFFLINE=1
            export TRANSFORMERS_OFFLINE=1
          '';
        };
        # §17.3
        shell173 = pkgs.mkShell {
          packages = [ llama mistral ];
          shellHook = nix-model-repo.lib.mkShellHook pkgs {
            models = [
              { drv = llama; org = "meta-llama"; model = "Llama-2-7b-hf"; }
              { drv = mistral; org = "mistralai"; model = "Mistral-7B-v0.1"; }
            ];
          };
        };
        # §9.1: mkHfSymlinks and mkModelWrapper in the design's shapes.
        symlinks = pkgs.writeShellScript "hook" "\${nix-model-repo.lib.mkHfSymlinks pkgs { modelPath = llama; org = "meta-llama"; model = "Llama-2-7b-hf"; }}";
        wrapper = nix-model-repo.lib.mkModelWrapper pkgs {
          program = "\${pkgs.bash}/bin/bash";
          models = [ { path = llama; name = "llama"; envVar = "LLAMA_PATH"; } ];
        };
      }`);
    // §17.3's registry entries: placeholders until pinned, whose build says how.
    expect(await failsWith(`nix-model-repo.models.\${system}.meta-llama.llama-2-7b.drvPath`)).toContain(
      "nix-model-repo prefetch hf:meta-llama/Llama-2-7b-hf@main --files '*.json' --files '*.safetensors' --files 'tokenizer.model'",
    );
    expect(await failsWith(`nix-model-repo.models.\${system}.mistralai.mistral-7b.drvPath`)).toContain(
      "nix-model-repo prefetch hf:mistralai/Mistral-7B-v0.1@main",
    );
    // §9.2 calls mkShellHook without pkgs; the flake's functions take pkgs first (§17.1).
    expect(await failsWith(`nix-model-repo.lib.mkShellHook { models = [ ]; }`)).toContain(
      "nix-model-repo.lib.mkShellHook takes pkgs first, as fetchModel does: nix-model-repo.lib.mkShellHook pkgs ...",
    );
  });
});
