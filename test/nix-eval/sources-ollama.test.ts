/**
 * source.ollama on the Nix side: the spec it writes, the names it accepts (the same as
 * the fetcher's parser, checked name by name), what `info` gives integration, and the
 * lib.sources.ollama factory.
 */
import { describe, expect, it } from "vitest";
import {
  fullOllamaName,
  InvalidOllamaName,
  manifestPathSegments,
  parseOllamaName,
  shortOllamaName,
} from "../../src/sources/ollama/name.js";
import {
  libPrelude,
  nixAvailable,
  nixEval,
  repoRoot,
  fetchModelEvalError,
  SOME_HASH as goodHash,
} from "../helpers/nix.js";

async function evalModel(args: string, attribute: string) {
  const result = await nixEval(`${libPrelude} (nmr.fetchModel { ${args} }).${attribute}`);
  expect(result.stderr).not.toContain("error:");
  return result.value;
}

const NAMES = [
  "llama3.2:1b",
  "llama3.2",
  "user/m",
  "registry.ollama.ai/library/dolphin-mistral:7b-v2.6-dpo-laser-q6_K",
  "host:port/namespace/model:tag",
  "host:port/namespace/model",
  "localhost:5000/ns/m:q4",
  "http://localhost:5000/library/tiny:1",
  "https://registry.example/ns/m:t",
  "HOST/NAMESPACE/MODEL:TAG",
  "Registry.Ollama.AI/Library/m:t",
  "_why/_the/_lucky:_stiff",
  `${"3".repeat(350)}/${"8".repeat(80)}/${"8".repeat(80)}:${"8".repeat(80)}`,
  // Invalid ones.
  "",
  "mm:",
  "n/m:",
  "/nn/mm",
  "//",
  "hh//",
  "m@d",
  "-hh/nn/mm:tt",
  "hh/-nn/mm:tt",
  "host/name:space/model:tag",
  "x/y/z/z:8n",
  "a.b/m",
  `${"8".repeat(81)}/m`,
  `m:${"8".repeat(81)}`,
  `${"3".repeat(351)}/n/m:t`,
  "localhost:5000/tiny",
  "http://localhost:5000/tiny",
  "ftp://host/ns/m:t",
  "http:///ns/m:t",
  "../../etc/passwd",
  "ns/..:x",
  "a b",
  "m:t\n",
];

function expectedInfo(text: string) {
  try {
    const name = parseOllamaName(text);
    const [host, namespace, model, tag] = manifestPathSegments(name);
    return {
      host,
      namespace,
      model,
      tag,
      name: fullOllamaName(name),
      shortName: shortOllamaName(name),
      manifestPath: `manifests/${host}/${namespace}/${model}/${tag}`,
    };
  } catch (error) {
    if (error instanceof InvalidOllamaName) return null;
    throw error;
  }
}

describe.skipIf(!nixAvailable)("source.ollama (nix-instantiate, stand-in pkgs)", () => {
  it("writes the spec with the endpoint spelled out and names the model after model and tag", async () => {
    expect(await evalModel(`source.ollama.model = "llama3.2:1b"; hash = "${goodHash}";`, "spec.source")).toEqual({
      type: "ollama",
      model: "llama3.2:1b",
      endpoint: null,
    });
    expect(await evalModel(`source.ollama.model = "llama3.2:1b"; hash = "${goodHash}";`, "raw.name")).toBe(
      "llama3.2-1b-raw",
    );
    expect(await evalModel(`source.ollama.model = "user/m"; hash = "${goodHash}";`, "raw.name")).toBe("m-latest-raw");
    expect(
      await evalModel(
        `source.ollama = { model = "tiny:1"; endpoint = "http://127.0.0.1:5000"; }; hash = "${goodHash}";`,
        "spec.source",
      ),
    ).toEqual({ type: "ollama", model: "tiny:1", endpoint: "http://127.0.0.1:5000" });
  });

  it("accepts and refuses exactly the names the fetcher does, and gives the same parts", async () => {
    const list = `[ ${NAMES.map((name) => JSON.stringify(name).replace(/\$\{/g, "\\${")).join(" ")} ]`;
    const result = await nixEval(`let
      utils = import ${repoRoot}/lib/utils.nix;
      ollama = import ${repoRoot}/lib/sources/ollama.nix { inherit utils; };
      tryInfo = name: let r = builtins.tryEval (let i = ollama.info (ollama.toSpec { model = name; }); in builtins.deepSeq i i); in if r.success then r.value else null;
    in map tryInfo ${list}`);
    expect(result.stderr).toBe("");
    expect(result.value).toEqual(NAMES.map(expectedInfo));
    // The table has both kinds.
    expect(NAMES.map(expectedInfo).filter((info) => info === null).length).toBeGreaterThan(15);
  });

  it("gives integration the parts of the name, Ollama's display name and the manifest path", async () => {
    expect(
      await evalModel(`source.ollama.model = "http://localhost:5000/User/Tiny:Q4"; hash = "${goodHash}";`, "modelInfo"),
    ).toEqual({
      host: "localhost:5000",
      namespace: "User",
      model: "Tiny",
      tag: "Q4",
      name: "localhost:5000/User/Tiny:Q4",
      shortName: "localhost:5000/User/Tiny:Q4",
      manifestPath: "manifests/localhost:5000/User/Tiny/Q4",
    });
    expect(await evalModel(`source.ollama.model = "llama3.2:1b"; hash = "${goodHash}";`, "modelInfo.shortName")).toBe(
      "llama3.2:1b",
    );
  });

  it("refuses a bad name, naming the option and showing an example", async () => {
    const stderr = await fetchModelEvalError(`source.ollama.model = "localhost:5000/tiny"; hash = "${goodHash}";`);
    expect(stderr).toContain("source.ollama.model must be an Ollama model name as `ollama pull` takes it");
    expect(stderr).toContain('source.ollama.model = "llama3.2:1b";');
    expect(await fetchModelEvalError(`source.ollama.model = "ftp://h/n/m:t"; hash = "${goodHash}";`)).toContain(
      "source.ollama.model must be",
    );
    expect(await fetchModelEvalError(`source.ollama = { }; hash = "${goodHash}";`)).toContain(
      "source.ollama.model must be",
    );
  });

  it("refuses unknown options and endpoints with credentials", async () => {
    expect(await fetchModelEvalError(`source.ollama = { model = "m"; tag = "x"; }; hash = "${goodHash}";`)).toContain(
      "unknown option source.ollama.tag",
    );
    expect(
      await fetchModelEvalError(
        `source.ollama = { model = "m"; endpoint = "http://u:p@host"; }; hash = "${goodHash}";`,
      ),
    ).toContain("source.ollama.endpoint must be");
    expect(
      await fetchModelEvalError(
        `source.ollama = { model = "m"; endpoint = "registry.example"; }; hash = "${goodHash}";`,
      ),
    ).toContain("source.ollama.endpoint must be");
  });

  it("says how to prefetch when the hash is missing", async () => {
    const stderr = await fetchModelEvalError(
      `source.ollama = { model = "tiny:1"; endpoint = "http://127.0.0.1:5000"; };`,
    );
    expect(stderr).toContain(`hash is missing for model "tiny-1"`);
    expect(stderr).toContain("nix-model-repo prefetch 'ollama:tiny:1' --endpoint 'http://127.0.0.1:5000'");
  });

  it("passes only the user's token variable and proxies through impureEnvVars", async () => {
    const vars = (await evalModel(
      `source.ollama.model = "m"; hash = "${goodHash}"; auth.tokenEnvVar = "OLLAMA_TOKEN";`,
      "raw.drvAttrs.impureEnvVars",
    )) as string[];
    expect(vars).toContain("OLLAMA_TOKEN");
    expect(vars).toContain("https_proxy");
    expect(vars).not.toContain("HF_TOKEN");
  });

  it("offers the lib.sources.ollama.model factory", async () => {
    const { value } = await nixEval(`${libPrelude} nmr.sources.ollama.model "llama3.2:1b"`);
    expect(value).toEqual({ ollama: { model: "llama3.2:1b" } });
    expect(
      await evalModel(`source = nmr.sources.ollama.model "qwen2.5:0.5b"; hash = "${goodHash}";`, "spec.source.model"),
    ).toBe("qwen2.5:0.5b");
  });
});
