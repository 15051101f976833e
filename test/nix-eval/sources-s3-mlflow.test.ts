import { describe, expect, it } from "vitest";
import { libPrelude, nixAvailable, nixEval, fetchModelEvalError, SOME_HASH as goodHash } from "../helpers/nix.js";

/** source.s3 and source.mlflow as the Nix library checks and serialises them, and their lib.sources factories. */

async function evalModel(args: string, attribute: string): Promise<unknown> {
  const result = await nixEval(`${libPrelude} (nmr.fetchModel { ${args} }).${attribute}`);
  expect(result.ok, result.stderr).toBe(true);
  return result.value;
}

describe.skipIf(!nixAvailable)("source.s3 in the Nix library", () => {
  it("writes the source with defaults spelled out and the prefix as a folder", async () => {
    expect(
      await evalModel(`source.s3 = { bucket = "models"; prefix = "llama/7b"; }; hash = "${goodHash}";`, "spec.source"),
    ).toEqual({
      type: "s3",
      bucket: "models",
      prefix: "llama/7b/",
      region: null,
      files: null,
      endpoint: null,
    });
    // The whole bucket: null in the spec, which never holds empty strings.
    expect(
      await evalModel(`source.s3 = { bucket = "models"; prefix = ""; }; hash = "${goodHash}";`, "spec.source.prefix"),
    ).toBeNull();
    expect(
      await evalModel(`source.s3 = { bucket = "models"; prefix = null; }; hash = "${goodHash}";`, "spec.source.prefix"),
    ).toBeNull();
  });

  it("gives one derivation for both spellings of a folder", async () => {
    const a = await evalModel(
      `source.s3 = { bucket = "models"; prefix = "llama/7b"; }; hash = "${goodHash}";`,
      "drvPath",
    );
    const b = await evalModel(
      `source.s3 = { bucket = "models"; prefix = "llama/7b/"; }; hash = "${goodHash}";`,
      "drvPath",
    );
    expect(a).toBe(b);
  });

  it("names the model after the prefix's last folder", async () => {
    expect(
      await evalModel(
        `source.s3 = { bucket = "models"; prefix = "llama/7b-chat"; }; hash = "${goodHash}";`,
        "raw.name",
      ),
    ).toBe("7b-chat-raw");
    expect(await evalModel(`source.s3 = { bucket = "models"; prefix = ""; }; hash = "${goodHash}";`, "raw.name")).toBe(
      "models-raw",
    );
  });

  it("passes AWS credentials and endpoints only through impureEnvVars", async () => {
    const vars = await evalModel(
      `source.s3 = { bucket = "models"; prefix = "x"; }; hash = "${goodHash}";`,
      "raw.drvAttrs.impureEnvVars",
    );
    expect(vars).toEqual(
      expect.arrayContaining([
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
      ]),
    );
    expect(vars).not.toContain("HF_TOKEN");
  });

  it("refuses bad buckets, prefixes, regions and endpoints by option name", async () => {
    expect(await fetchModelEvalError(`source.s3 = { bucket = "a/b"; prefix = "x"; }; hash = "${goodHash}";`)).toContain(
      "source.s3.bucket must be a bucket name",
    );
    expect(
      await fetchModelEvalError(`source.s3 = { bucket = "models"; prefix = "/llama"; }; hash = "${goodHash}";`),
    ).toContain("source.s3.prefix must be a folder of keys");
    expect(
      await fetchModelEvalError(`source.s3 = { bucket = "models"; prefix = "a/../b"; }; hash = "${goodHash}";`),
    ).toContain("source.s3.prefix must be a folder of keys");
    expect(
      await fetchModelEvalError(`source.s3 = { bucket = "models"; prefix = "a//b"; }; hash = "${goodHash}";`),
    ).toContain("source.s3.prefix must be a folder of keys");
    expect(await fetchModelEvalError(`source.s3 = { bucket = "models"; }; hash = "${goodHash}";`)).toContain(
      "source.s3.prefix must be",
    );
    expect(
      await fetchModelEvalError(
        `source.s3 = { bucket = "models"; prefix = "x"; region = "EU West"; }; hash = "${goodHash}";`,
      ),
    ).toContain("source.s3.region must be null or a region name");
    expect(
      await fetchModelEvalError(
        `source.s3 = { bucket = "models"; prefix = "x"; endpoint = "https://key:secret@minio.example"; }; hash = "${goodHash}";`,
      ),
    ).toContain("source.s3.endpoint must be null or an http(s) URL without credentials");
    expect(
      await fetchModelEvalError(
        `source.s3 = { bucket = "models"; prefix = "x"; regoin = "us-east-1"; }; hash = "${goodHash}";`,
      ),
    ).toContain("Did you mean 'region'?");
  });

  it("says how to prefetch a missing hash", async () => {
    const stderr = await fetchModelEvalError(
      `name = "m"; source.s3 = { bucket = "models"; prefix = "llama/7b"; files = [ "*.json" ]; endpoint = "http://127.0.0.1:9000"; region = "auto"; };`,
    );
    expect(stderr).toContain(
      "nix-model-repo prefetch 's3://models/llama/7b/' --files '*.json' --region 'auto' --endpoint 'http://127.0.0.1:9000'",
    );
  });

  it("lib.sources.mkS3 makes the same source as writing it out", async () => {
    const viaFactory = await nixEval(
      `${libPrelude} let s3 = nmr.sources.mkS3 { bucket = "models"; endpoint = "https://minio.example:9000"; }; in (nmr.fetchModel { source = s3 { prefix = "llama/7b"; files = [ "*.safetensors" ]; }; hash = "${goodHash}"; }).spec.source`,
    );
    expect(viaFactory.ok, viaFactory.stderr).toBe(true);
    expect(viaFactory.value).toEqual({
      type: "s3",
      bucket: "models",
      prefix: "llama/7b/",
      region: null,
      files: ["*.safetensors"],
      endpoint: "https://minio.example:9000",
    });
  });
});

describe.skipIf(!nixAvailable)("source.mlflow in the Nix library", () => {
  const server = `trackingUri = "https://mlflow.example";`;

  it("writes the source with the version as a string, whichever way it was written", async () => {
    const expected = {
      type: "mlflow",
      trackingUri: "https://mlflow.example",
      modelName: "churn",
      modelVersion: "3",
      modelStage: null,
      modelAlias: null,
    };
    expect(
      await evalModel(
        `source.mlflow = { ${server} modelName = "churn"; modelVersion = 3; }; hash = "${goodHash}";`,
        "spec.source",
      ),
    ).toEqual(expected);
    expect(
      await evalModel(
        `source.mlflow = { ${server} modelName = "churn"; modelVersion = "3"; }; hash = "${goodHash}";`,
        "spec.source",
      ),
    ).toEqual(expected);
    expect(
      await evalModel(
        `source.mlflow = { ${server} modelName = "churn"; modelVersion = "latest"; }; hash = "${goodHash}";`,
        "spec.source.modelVersion",
      ),
    ).toBe("latest");
  });

  it("wants exactly one of modelVersion, modelStage and modelAlias", async () => {
    expect(
      await fetchModelEvalError(`source.mlflow = { ${server} modelName = "churn"; }; hash = "${goodHash}";`),
    ).toContain("source.mlflow needs exactly one of modelVersion, modelStage and modelAlias, but it has none");
    const both = await fetchModelEvalError(
      `source.mlflow = { ${server} modelName = "churn"; modelVersion = 3; modelAlias = "champion"; }; hash = "${goodHash}";`,
    );
    expect(both).toContain("but it has modelVersion and modelAlias");
    expect(both).toContain('modelAlias = "champion";');
  });

  it("refuses bad versions, names, aliases and tracking URIs by option name", async () => {
    expect(
      await fetchModelEvalError(
        `source.mlflow = { ${server} modelName = "churn"; modelVersion = 0; }; hash = "${goodHash}";`,
      ),
    ).toContain("source.mlflow.modelVersion must be a version number");
    expect(
      await fetchModelEvalError(
        `source.mlflow = { ${server} modelName = "churn"; modelVersion = "v3"; }; hash = "${goodHash}";`,
      ),
    ).toContain("source.mlflow.modelVersion must be a version number");
    expect(
      await fetchModelEvalError(
        `source.mlflow = { ${server} modelName = "a/b"; modelVersion = 1; }; hash = "${goodHash}";`,
      ),
    ).toContain("source.mlflow.modelName must be a registered model name");
    expect(
      await fetchModelEvalError(
        `source.mlflow = { ${server} modelName = "churn"; modelAlias = "a/b"; }; hash = "${goodHash}";`,
      ),
    ).toContain("source.mlflow.modelAlias must be an alias");
    expect(
      await fetchModelEvalError(
        `source.mlflow = { trackingUri = "databricks"; modelName = "churn"; modelVersion = 1; }; hash = "${goodHash}";`,
      ),
    ).toContain("source.mlflow.trackingUri must be an http(s) URL");
    expect(
      await fetchModelEvalError(`source.mlflow = { modelName = "churn"; modelVersion = 1; }; hash = "${goodHash}";`),
    ).toContain("source.mlflow.trackingUri must be");
  });

  it("says how to prefetch each kind of selector", async () => {
    const missing = (selector: string) =>
      fetchModelEvalError(`name = "churn"; source.mlflow = { ${server} modelName = "churn"; ${selector} };`);
    expect(await missing("modelVersion = 3;")).toContain(
      "nix-model-repo prefetch 'mlflow:churn/3' --endpoint 'https://mlflow.example'",
    );
    expect(await missing(`modelStage = "Production";`)).toContain(
      "nix-model-repo prefetch 'mlflow:churn/Production' --endpoint",
    );
    expect(await missing(`modelAlias = "champion";`)).toContain(
      "nix-model-repo prefetch 'mlflow:churn@champion' --endpoint",
    );
  });

  it("passes MLflow and AWS credentials through impureEnvVars, and not MLFLOW_TRACKING_INSECURE_TLS", async () => {
    const vars = await evalModel(
      `source.mlflow = { ${server} modelName = "churn"; modelVersion = 1; }; hash = "${goodHash}";`,
      "raw.drvAttrs.impureEnvVars",
    );
    expect(vars).toEqual(
      expect.arrayContaining([
        "MLFLOW_TRACKING_USERNAME",
        "MLFLOW_TRACKING_PASSWORD",
        "MLFLOW_TRACKING_TOKEN",
        "MLFLOW_S3_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_ENDPOINT_URL_S3",
      ]),
    );
    expect(vars).not.toContain("MLFLOW_TRACKING_INSECURE_TLS");
  });

  it("lib.sources.mkMlflow makes the same source as writing it out", async () => {
    const viaFactory = await nixEval(
      `${libPrelude} let registry = nmr.sources.mkMlflow { ${server} }; in (nmr.fetchModel { source = registry { modelName = "churn"; alias = "champion"; }; hash = "${goodHash}"; }).spec.source`,
    );
    expect(viaFactory.ok, viaFactory.stderr).toBe(true);
    expect(viaFactory.value).toEqual({
      type: "mlflow",
      trackingUri: "https://mlflow.example",
      modelName: "churn",
      modelVersion: null,
      modelStage: null,
      modelAlias: "champion",
    });
    const twice = await nixEval(
      `${libPrelude} let registry = nmr.sources.mkMlflow { ${server} }; in (nmr.fetchModel { source = registry { modelName = "churn"; version = 2; stage = "Staging"; }; hash = "${goodHash}"; }).drvPath`,
    );
    expect(twice.ok).toBe(false);
    expect(twice.stderr).toContain("but it has modelVersion and modelStage");
  });
});
