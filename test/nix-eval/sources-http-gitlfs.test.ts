/**
 * source.url and source.git-lfs on the Nix side (nix-instantiate, stand-in pkgs): the spec
 * each writes, the checks that throw (naming the option, with an example), what the
 * builder gets (git for git-lfs), and the lib.sources factories mkHttp, mkGitLfs, mkGitXet.
 */
import { describe, expect, it } from "vitest";
import { libPrelude, nixAvailable, nixEval, fetchModelEvalError, SOME_HASH as goodHash } from "../helpers/nix.js";

const hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const commit = "0123456789abcdef0123456789abcdef01234567";

async function evalValue(expression: string): Promise<unknown> {
  const result = await nixEval(`${libPrelude} ${expression}`);
  expect(result.ok, result.stderr).toBe(true);
  return result.value;
}

describe.skipIf(!nixAvailable)("source.url in Nix", () => {
  it("writes the spec, takes the name from the file and passes no extra variables", async () => {
    const value = (await evalValue(`let m = nmr.fetchModel {
        source.url.urls = [
          { url = "https://example.org/m/model.safetensors"; sha256 = "${hex}"; }
          { url = "https://example.org/get?id=7"; filename = "onnx/model.onnx"; sha256 = "sha256-n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="; }
        ];
        hash = "${goodHash}"; auth.tokenEnvVar = "MY_TOKEN";
      }; in { inherit (m.raw) name; source = m.spec.source; env = m.raw.drvAttrs.impureEnvVars; git = m.raw.drvAttrs ? NIX_MODEL_REPO_GIT; }`)) as Record<
      string,
      unknown
    >;
    expect(value["name"]).toBe("model-raw");
    expect(value["source"]).toEqual({
      type: "url",
      unpack: false,
      urls: [
        { url: "https://example.org/m/model.safetensors", sha256: hex, filename: null },
        {
          url: "https://example.org/get?id=7",
          sha256: "sha256-n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=",
          filename: "onnx/model.onnx",
        },
      ],
    });
    expect(value["env"]).toEqual(expect.arrayContaining(["MY_TOKEN", "https_proxy"]));
    // Besides the token: nixpkgs' proxyImpureEnvVars (the proxies and NIX_SSL_CERT_FILE).
    expect((value["env"] as string[]).filter((name) => !/proxy|^NIX_SSL_CERT_FILE$/i.test(name))).toEqual(["MY_TOKEN"]);
    expect(value["git"]).toBe(false);
  });

  it("names an unpacked archive after its stem", async () => {
    const name = await evalValue(
      `(nmr.fetchModel { source.url = { unpack = true; urls = [ { url = "https://e.org/bert-base.tar.gz"; sha256 = "${hex}"; } ]; }; hash = "${goodHash}"; }).raw.name`,
    );
    expect(name).toBe("bert-base-raw");
  });

  it("refuses a bad sha256, naming the entry and the accepted forms", async () => {
    const stderr = await fetchModelEvalError(
      `source.url.urls = [ { url = "https://e.org/a.bin"; sha256 = "abc"; } ]; hash = "${goodHash}";`,
    );
    expect(stderr).toContain("source.url.urls.0.sha256 must be a sha256: 64 hex digits");
    expect(stderr).toContain("nix-model-repo prefetch url:");
  });

  it("refuses credentials in the URL, which would be written into the .drv", async () => {
    const stderr = await fetchModelEvalError(
      `source.url.urls = [ { url = "https://user:secret@e.org/a.bin"; sha256 = "${hex}"; } ]; hash = "${goodHash}";`,
    );
    expect(stderr).toContain("source.url.urls.0.url must be an http(s) URL without credentials");
  });

  it("wants a filename when the URL names no file, and an archive when unpacking", async () => {
    expect(
      await fetchModelEvalError(
        `source.url.urls = [ { url = "https://e.org/models/"; sha256 = "${hex}"; } ]; hash = "${goodHash}";`,
      ),
    ).toContain('source.url.urls.0.url ends in "/", so it names no file: set source.url.urls.0.filename');
    expect(
      await fetchModelEvalError(
        `source.url = { unpack = true; urls = [ { url = "https://e.org/model.bin"; sha256 = "${hex}"; } ]; }; hash = "${goodHash}";`,
      ),
    ).toContain(
      'source.url.unpack = true, but source.url.urls.0 ("model.bin") is not a .tar, .tar.gz, .tgz, .zip archive',
    );
  });

  it("refuses an escaping filename, unknown keys and an empty list", async () => {
    expect(
      await fetchModelEvalError(
        `source.url.urls = [ { url = "https://e.org/a"; filename = "../x"; sha256 = "${hex}"; } ]; hash = "${goodHash}";`,
      ),
    ).toContain("source.url.urls.0.filename must be null or a relative path");
    expect(
      await fetchModelEvalError(
        `source.url.urls = [ { url = "https://e.org/a"; sha265 = "${hex}"; } ]; hash = "${goodHash}";`,
      ),
    ).toContain("unknown option source.url.urls.0.sha265. Did you mean 'sha256'?");
    expect(await fetchModelEvalError(`source.url.urls = [ ]; hash = "${goodHash}";`)).toContain(
      "source.url.urls must be a non-empty list",
    );
  });

  it("says how to get a missing hash", async () => {
    expect(
      await fetchModelEvalError(
        `source.url = { unpack = true; urls = [ { url = "https://e.org/m.zip"; sha256 = "${hex}"; } ]; };`,
      ),
    ).toContain("nix-model-repo prefetch 'url:https://e.org/m.zip' --unpack");
  });
});

describe.skipIf(!nixAvailable)("source.git-lfs in Nix", () => {
  it("writes the spec and gives the builder git by its store path", async () => {
    const value = (await evalValue(`let m = nmr.fetchModel {
        source.git-lfs = { url = "https://huggingface.co/acme/tiny"; rev = "${commit}"; lfsFiles = [ "*.safetensors" ]; };
        hash = "${goodHash}";
      }; in { inherit (m.raw) name; source = m.spec.source; git = m.raw.drvAttrs.NIX_MODEL_REPO_GIT; folder = m.passthru.hubCacheFolder; }`)) as Record<
      string,
      unknown
    >;
    expect(value["name"]).toBe("tiny-raw");
    expect(value["source"]).toEqual({
      type: "git-lfs",
      url: "https://huggingface.co/acme/tiny",
      rev: commit,
      lfsFiles: ["*.safetensors"],
    });
    expect(value["git"]).toMatch(/^\/nix\/store\/[a-z0-9]{32}-git-host\/bin\/git$/);
    // A Hub-shaped URL integrates as that Hub repo.
    expect(value["folder"]).toBe("models--acme--tiny");
  });

  it("refuses a branch name for rev, says why and how to find the commit", async () => {
    const stderr = await fetchModelEvalError(
      `source.git-lfs = { url = "https://git.example/org/model.git"; rev = "main"; }; hash = "${goodHash}";`,
    );
    expect(stderr).toContain('source.git-lfs.rev must be a full 40-hex commit id, but it is the string "main"');
    expect(stderr).toContain("a fixed-output derivation must name content that cannot");
    expect(stderr).toContain("git ls-remote https://git.example/org/model.git main");
    expect(
      await fetchModelEvalError(
        `source.git-lfs = { url = "https://g.example/m"; rev = "${commit.toUpperCase()}"; }; hash = "${goodHash}";`,
      ),
    ).toContain("must be written in lowercase hex");
  });

  it("refuses ssh URLs and credentials in the URL", async () => {
    expect(
      await fetchModelEvalError(
        `source.git-lfs = { url = "git@github.com:org/model.git"; rev = "${commit}"; }; hash = "${goodHash}";`,
      ),
    ).toContain(
      "source.git-lfs.url must be an http(s) clone URL without credentials (ssh is not available in a build)",
    );
    expect(
      await fetchModelEvalError(
        `source.git-lfs = { url = "https://u:p@g.example/m"; rev = "${commit}"; }; hash = "${goodHash}";`,
      ),
    ).toContain("source.git-lfs.url must be");
  });

  it("says how to get a missing hash", async () => {
    expect(
      await fetchModelEvalError(
        `source.git-lfs = { url = "https://g.example/org/m.git"; rev = "${commit}"; lfsFiles = [ "*.bin" ]; };`,
      ),
    ).toContain(`nix-model-repo prefetch 'git-lfs:https://g.example/org/m.git@${commit}' --files '*.bin'`);
  });
});

describe.skipIf(!nixAvailable)("lib.sources factories for HTTP, git-lfs and git-xet", () => {
  it("mkHttp joins the base URL and path; mkGitLfs maps files to lfsFiles; both feed fetchModel", async () => {
    const value = (await evalValue(`let
        files = nmr.sources.mkHttp { baseUrl = "https://models.example/tiny/"; };
        hub = nmr.sources.mkGitLfs { baseUrl = "https://huggingface.co"; };
        httpSource = files { path = "/model.safetensors"; sha256 = "${hex}"; };
        lfsSource = hub { repo = "acme/tiny"; rev = "${commit}"; files = [ "*.safetensors" ]; };
      in {
        inherit httpSource lfsSource;
        httpSpec = (nmr.fetchModel { source = httpSource; hash = "${goodHash}"; }).spec.source;
        lfsSpec = (nmr.fetchModel { source = lfsSource; hash = "${goodHash}"; }).spec.source;
      }`)) as Record<string, unknown>;
    expect(value["httpSource"]).toEqual({
      url: { urls: [{ url: "https://models.example/tiny/model.safetensors", sha256: hex, filename: null }] },
    });
    expect(value["lfsSource"]).toEqual({
      "git-lfs": { url: "https://huggingface.co/acme/tiny", rev: commit, lfsFiles: ["*.safetensors"] },
    });
    expect(value["httpSpec"]).toEqual({
      type: "url",
      unpack: false,
      urls: [{ url: "https://models.example/tiny/model.safetensors", sha256: hex, filename: null }],
    });
    expect(value["lfsSpec"]).toEqual({
      type: "git-lfs",
      url: "https://huggingface.co/acme/tiny",
      rev: commit,
      lfsFiles: ["*.safetensors"],
    });
  });

  it("mkGitXet writes the CAS once; its sources feed fetchModel, and fetchFromGitXet takes them flat", async () => {
    const value = (await evalValue(`let
        xet = nmr.sources.mkGitXet { endpoint = "https://cas.example"; };
        xetSource = xet { url = "https://huggingface.co/acme/tiny"; rev = "${commit}"; files = [ "*.safetensors" ]; };
      in {
        inherit xetSource;
        xetSpec = (nmr.fetchModel { source = xetSource; hash = "${goodHash}"; }).spec.source;
        flat = (nmr.fetchFromGitXet { url = "https://huggingface.co/acme/tiny"; rev = "${commit}"; hash = "${goodHash}"; }).spec.source;
        name = (nmr.fetchFromGitXet { url = "https://huggingface.co/acme/tiny"; rev = "${commit}"; hash = "${goodHash}"; }).raw.name;
      }`)) as Record<string, unknown>;
    expect(value["xetSource"]).toEqual({
      "git-xet": {
        url: "https://huggingface.co/acme/tiny",
        rev: commit,
        files: ["*.safetensors"],
        xet: { endpoint: "https://cas.example" },
      },
    });
    expect(value["xetSpec"]).toEqual({
      type: "git-xet",
      url: "https://huggingface.co/acme/tiny",
      rev: commit,
      files: ["*.safetensors"],
      xet: { endpoint: "https://cas.example" },
    });
    expect(value["flat"]).toEqual({
      type: "git-xet",
      url: "https://huggingface.co/acme/tiny",
      rev: commit,
      files: null,
      xet: { endpoint: null },
    });
    expect(value["name"]).toBe("tiny-raw");
  });

  it("source.git-xet: checks that name the option, and the prefetch command for a missing hash", async () => {
    const error = (fields: string) =>
      nixEval(`${libPrelude} (nmr.fetchModel { source.git-xet = { ${fields} }; hash = "${goodHash}"; }).drvPath`);
    expect((await error(`url = "https://g.example/m.git"; rev = "main";`)).stderr).toContain(
      'source.git-xet.rev must be a full 40-hex commit id, but it is the string "main"',
    );
    expect((await error(`url = "git@g.example:m.git"; rev = "${commit}";`)).stderr).toContain(
      "source.git-xet.url must be",
    );
    expect((await error(`url = "https://g.example/m.git"; rev = "${commit}"; xet.cas = "x";`)).stderr).toContain(
      "unknown option source.git-xet.xet.cas",
    );
    expect((await error(`url = "https://g.example/m.git"; rev = "${commit}"; lfsFiles = [ "*" ];`)).stderr).toContain(
      "unknown option source.git-xet.lfsFiles",
    );
    const missing = await nixEval(
      `${libPrelude} (nmr.fetchModel { source.git-xet = { url = "https://g.example/org/m.git"; rev = "${commit}"; files = [ "*.bin" ]; xet.endpoint = "https://cas.example"; }; }).drvPath`,
    );
    expect(missing.stderr).toContain(
      `nix-model-repo prefetch 'git-xet:https://g.example/org/m.git@${commit}' --files '*.bin' --endpoint 'https://cas.example'`,
    );
  });
});
