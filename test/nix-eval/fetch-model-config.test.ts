import { describe, expect, it } from "vitest";
import { libPrelude, nixAvailable, nixEval, fetchModelEvalError, SOME_HASH as goodHash } from "../helpers/nix.js";

const tiny = `source.huggingface = { repo = "acme/tiny"; files = [ "*.json" ]; }`;

async function evalModel(args: string, attribute: string) {
  return nixEval(`${libPrelude} (nmr.fetchModel { ${args} }).${attribute}`);
}

describe.skipIf(!nixAvailable)("fetchModel configuration checks (nix-instantiate, stand-in pkgs)", () => {
  it("writes the spec with every default spelled out", async () => {
    const { value } = await evalModel(`name = "tiny"; ${tiny}; hash = "${goodHash}";`, "spec");
    expect(value).toEqual({
      specVersion: 1,
      name: "tiny",
      source: {
        type: "huggingface",
        repo: "acme/tiny",
        repoType: "model",
        revision: "main",
        files: ["*.json"],
        endpoint: null,
      },
      network: {
        timeout: { connect: 30, read: 300, lowSpeedLimit: 1024, lowSpeedTime: 60, total: null },
        retry: { maxAttempts: 3, baseDelay: 2 },
        bandwidth: { limit: null },
        proxy: null,
        concurrency: 16,
        xet: "auto",
      },
      auth: { tokenEnvVar: null, tokenFile: null },
      onFailure: { attempts: 1, notify: null },
    });
  });

  it("names the raw derivation <name>-raw and takes the name from the repo by default", async () => {
    expect((await evalModel(`${tiny}; hash = "${goodHash}";`, "raw.name")).value).toBe("tiny-raw");
    expect((await evalModel(`name = "my-model"; ${tiny}; hash = "${goodHash}";`, "raw.name")).value).toBe(
      "my-model-raw",
    );
  });

  it("passes tokens, the endpoint, proxies and NIX_SSL_CERT_FILE only through impureEnvVars", async () => {
    const { value } = await evalModel(
      `${tiny}; hash = "${goodHash}"; auth.tokenEnvVar = "MY_TOKEN";`,
      "raw.drvAttrs.impureEnvVars",
    );
    expect(value).toEqual(
      expect.arrayContaining([
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "HF_HOME",
        "HF_ENDPOINT",
        // huggingface_hub's switch; it turns network.xet = "auto" off in the daemon's environment.
        "HF_HUB_DISABLE_XET",
        "MY_TOKEN",
        "https_proxy",
        "NO_PROXY",
        // nixpkgs' lib.fetchers.proxyImpureEnvVars has it: a TLS-intercepting proxy's CA bundle.
        "NIX_SSL_CERT_FILE",
      ]),
    );
  });

  it("refuses an unknown option by name and suggests the right one", async () => {
    const stderr = await fetchModelEvalError(`${tiny}; hsah = "${goodHash}";`);
    expect(stderr).toContain("unknown option hsah");
    expect(stderr).toContain("Did you mean 'hash'?");
  });

  it("refuses unknown nested options", async () => {
    expect(await fetchModelEvalError(`${tiny}; hash = "${goodHash}"; network.timeout.conect = 3;`)).toContain(
      "unknown option network.timeout.conect",
    );
    expect(
      await fetchModelEvalError(`source.huggingface = { repo = "a/b"; revison = "x"; }; hash = "${goodHash}";`),
    ).toContain("unknown option source.huggingface.revison");
  });

  it("wants exactly one source", async () => {
    expect(await fetchModelEvalError(`source = { }; hash = "${goodHash}";`)).toContain(
      "source must name exactly one source, but it names none",
    );
    expect(
      await fetchModelEvalError(`source = { huggingface.repo = "a/b"; s3.bucket = "x"; }; hash = "${goodHash}";`),
    ).toContain("but it names huggingface, s3");
    expect(await fetchModelEvalError(`source.hugginface.repo = "a/b"; hash = "${goodHash}";`)).toContain(
      "Did you mean 'huggingface'?",
    );
  });

  it("says how to get a missing hash with prefetch", async () => {
    const stderr = await fetchModelEvalError(`name = "tiny"; ${tiny};`);
    expect(stderr).toContain(`hash is missing for model "tiny"`);
    expect(stderr).toContain("nix-model-repo prefetch hf:acme/tiny@main --files '*.json'");
    expect(stderr).not.toContain("--name");
    // A name other than the source's default must reach prefetch: it names the store path.
    expect(await fetchModelEvalError(`name = "tiny-v2"; ${tiny};`)).toContain(
      "nix-model-repo prefetch hf:acme/tiny@main --files '*.json' --name tiny-v2",
    );
  });

  it("wants an SRI sha256 hash", async () => {
    const stderr = await fetchModelEvalError(`${tiny}; hash = "0v4f8nb9ll2bkzqzddrmzk0rvvsa2jd3sg6jx7dnj5x8zx5l6ws5";`);
    expect(stderr).toContain("hash must be an SRI sha256 hash");
  });

  it("refuses a token file given as a path literal, which would copy the token into the store", async () => {
    const stderr = await fetchModelEvalError(`${tiny}; hash = "${goodHash}"; auth.tokenFile = /run/secrets/hf-token;`);
    expect(stderr).toContain("auth.tokenFile must be a string, not the path /run/secrets/hf-token");
    expect(stderr).toContain('auth.tokenFile = "/run/secrets/hf-token";');
  });

  it("refuses onFailure.action = persist and says why", async () => {
    expect(await fetchModelEvalError(`${tiny}; hash = "${goodHash}"; onFailure.action = "persist";`)).toContain(
      "cannot work: Nix deletes the output of a failed fixed-output derivation",
    );
    expect(
      (await evalModel(`${tiny}; hash = "${goodHash}"; onFailure.action = "retry";`, "spec.onFailure.attempts")).value,
    ).toBe(2);
  });

  it("refuses hostile revisions and bad repo ids before anything is built", async () => {
    expect(
      await fetchModelEvalError(
        `source.huggingface = { repo = "a/b"; revision = "../../etc"; }; hash = "${goodHash}";`,
      ),
    ).toContain("source.huggingface.revision must be");
    expect(await fetchModelEvalError(`source.huggingface = { repo = "a/../b"; }; hash = "${goodHash}";`)).toContain(
      "source.huggingface.repo must be",
    );
  });

  it("checks every source's endpoint with one rule: http(s), no credentials, query or fragment", async () => {
    const sources = {
      huggingface: (e: string) => `source.huggingface = { repo = "acme/tiny"; endpoint = "${e}"; };`,
      s3: (e: string) => `source.s3 = { bucket = "models"; prefix = "tiny"; endpoint = "${e}"; };`,
      ollama: (e: string) => `source.ollama = { model = "tiny:1"; endpoint = "${e}"; };`,
      mlflow: (e: string) => `source.mlflow = { trackingUri = "${e}"; modelName = "tiny"; modelVersion = 1; };`,
      "git-lfs": (e: string) => `source.git-lfs = { url = "${e}"; rev = "${"a".repeat(40)}"; };`,
    };
    for (const [type, source] of Object.entries(sources)) {
      for (const bad of [
        "https://mirror.example/?token=x",
        "https://mirror.example/#x",
        "https://u:p@mirror.example",
        "ftp://mirror.example",
      ]) {
        const result = await evalModel(`${source(bad)} hash = "${goodHash}";`, "drvPath");
        expect(result.ok, `${type}: ${bad}`).toBe(false);
      }
      const good = await evalModel(`${source("https://mirror.example:8443/base")} hash = "${goodHash}";`, "drvPath");
      expect(good.stderr, `${type}: ${good.stderr}`).not.toContain("error:");
    }
  });

  it("checks network settings", async () => {
    expect(await fetchModelEvalError(`${tiny}; hash = "${goodHash}"; network.bandwidth.limit = "fast";`)).toContain(
      "network.bandwidth.limit must be",
    );
    expect(await fetchModelEvalError(`${tiny}; hash = "${goodHash}"; network.concurrency = 0;`)).toContain(
      "network.concurrency must be a positive integer",
    );
    expect(await fetchModelEvalError(`${tiny}; hash = "${goodHash}"; network.xet = true;`)).toContain(
      'network.xet must be one of "auto", "off", "required", but it is bool true. Example: network.xet = "off";',
    );
    const { value } = await evalModel(
      `${tiny}; hash = "${goodHash}"; network = { bandwidth.limit = "50M"; proxy.https = "http://proxy.example:3128"; };`,
      "spec.network",
    );
    expect(value).toMatchObject({
      bandwidth: { limit: "50M" },
      proxy: { http: null, https: "http://proxy.example:3128", noProxy: null },
    });
  });

  it("checks the low-speed limit and the overall deadline, and passes them on", async () => {
    expect(await fetchModelEvalError(`${tiny}; hash = "${goodHash}"; network.timeout.lowSpeedLimit = -1;`)).toContain(
      "network.timeout.lowSpeedLimit must be a number of bytes per second >= 0 (0 turns the limit off), but it is int -1. Example: network.timeout.lowSpeedLimit = 1024;",
    );
    expect(await fetchModelEvalError(`${tiny}; hash = "${goodHash}"; network.timeout.lowSpeedTime = "1m";`)).toContain(
      "network.timeout.lowSpeedTime must be a positive number of seconds",
    );
    expect(await fetchModelEvalError(`${tiny}; hash = "${goodHash}"; network.timeout.total = 0;`)).toContain(
      "network.timeout.total must be null (no deadline) or a positive number of seconds for the whole fetch",
    );
    const { value } = await evalModel(
      `${tiny}; hash = "${goodHash}"; network.timeout = { lowSpeedLimit = 0; lowSpeedTime = 30; total = 7200; };`,
      "spec.network.timeout",
    );
    expect(value).toEqual({ connect: 30, read: 300, lowSpeedLimit: 0, lowSpeedTime: 30, total: 7200 });
  });

  it("offers fetchFromHuggingFace with flat arguments", async () => {
    const { value } = await nixEval(
      `${libPrelude} (nmr.fetchFromHuggingFace { repo = "acme/tiny"; revision = "v1"; hash = "${goodHash}"; }).spec.source`,
    );
    expect(value).toMatchObject({ type: "huggingface", repo: "acme/tiny", revision: "v1" });
  });
});
