import { describe, expect, it } from "vitest";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FieldReader } from "../../src/spec/fields.js";
import { selectorOf, type MlflowSource } from "../../src/sources/mlflow/spec.js";
import { parseSourceSpec } from "../../src/sources/registry.js";
import { parseArtifactUri, joinArtifactUri } from "../../src/sources/mlflow/artifact-uri.js";
import { artifactUrl } from "../../src/sources/mlflow/artifact-proxy.js";
import { mlflowPrefetch, parseSelector } from "../../src/sources/mlflow/prefetch-target.js";
import { findMlflowCredential } from "../../src/sources/mlflow/credentials.js";
import { redact } from "../../src/util/secrets.js";

/** Through the registry, as the fetcher reads a spec. */
const parse = (value: Record<string, unknown>) =>
  parseSourceSpec(
    FieldReader.root(
      { type: "mlflow", trackingUri: "https://mlflow.example", modelName: "churn", ...value },
      "spec.source",
    ),
  ) as MlflowSource;
const noAuth = { tokenFile: null, tokenEnvVar: null };

describe("source.mlflow spec", () => {
  it("reads exactly one selector", () => {
    expect(parse({ modelVersion: "3" })).toEqual({
      type: "mlflow",
      trackingUri: "https://mlflow.example",
      modelName: "churn",
      modelVersion: "3",
      modelStage: null,
      modelAlias: null,
    });
    expect(selectorOf(parse({ modelVersion: "3" }))).toEqual({ kind: "version", version: "3" });
    expect(selectorOf(parse({ modelVersion: "latest" }))).toEqual({ kind: "latest" });
    expect(selectorOf(parse({ modelStage: "production" }))).toEqual({ kind: "stage", stage: "production" });
    expect(selectorOf(parse({ modelAlias: "champion" }))).toEqual({ kind: "alias", alias: "champion" });
  });

  it("refuses none or several selectors, and bad values, naming the field", () => {
    expect(() => parse({})).toThrow("needs exactly one of modelVersion, modelStage and modelAlias, got none");
    expect(() => parse({ modelVersion: "1", modelStage: "Production" })).toThrow("got modelVersion and modelStage");
    expect(() => parse({ modelVersion: "v1" })).toThrow("spec.source.modelVersion must be a version number");
    expect(() => parse({ modelVersion: "0" })).toThrow("spec.source.modelVersion");
    expect(() => parse({ modelAlias: "a/b" })).toThrow("spec.source.modelAlias");
    expect(() => parse({ modelAlias: "x".repeat(257) })).toThrow("at most 256 bytes");
    expect(() => parse({ modelName: "a/b", modelVersion: "1" })).toThrow("spec.source.modelName");
    expect(() => parse({ trackingUri: "databricks", modelVersion: "1" })).toThrow(
      "spec.source.trackingUri must be an absolute URL like https://mlflow.example",
    );
    expect(() => parse({ trackingUri: "file:///mlruns", modelVersion: "1" })).toThrow("must be an http(s) URL");
    expect(() => parse({ trackingUri: "https://u:p@mlflow.example", modelVersion: "1" })).toThrow(
      "must not contain credentials",
    );
  });
});

describe("artifact URIs, read as MLflow's artifact repositories read them", () => {
  const tracking = "https://mlflow.example:5000/prefix";

  it("resolves mlflow-artifacts: against the tracking server, or the URI's own host", () => {
    expect(parseArtifactUri("mlflow-artifacts:/1/abc/artifacts/model", tracking)).toEqual({
      kind: "proxy",
      baseUrl: "https://mlflow.example:5000/prefix/api/2.0/mlflow-artifacts/artifacts",
      root: "1/abc/artifacts/model",
    });
    expect(parseArtifactUri("mlflow-artifacts://other:8080/1/x/", tracking)).toEqual({
      kind: "proxy",
      baseUrl: "https://other:8080/prefix/api/2.0/mlflow-artifacts/artifacts",
      root: "1/x",
    });
    expect(parseArtifactUri("mlflow-artifacts:///1/x", tracking)).toMatchObject({
      baseUrl: "https://mlflow.example:5000/prefix/api/2.0/mlflow-artifacts/artifacts",
      root: "1/x",
    });
  });

  it("reads the proxy spelled out as http(s), runs:/ and s3://", () => {
    expect(parseArtifactUri("http://host:5000/api/2.0/mlflow-artifacts/artifacts/0/r/artifacts", tracking)).toEqual({
      kind: "proxy",
      baseUrl: "http://host:5000/api/2.0/mlflow-artifacts/artifacts",
      root: "0/r/artifacts",
    });
    expect(parseArtifactUri("runs:/0123abc/model", tracking)).toEqual({ kind: "run", runId: "0123abc", path: "model" });
    expect(parseArtifactUri("runs:/0123abc", tracking)).toEqual({ kind: "run", runId: "0123abc", path: "" });
    expect(parseArtifactUri("s3://bucket/0/r/artifacts/model", tracking)).toEqual({
      kind: "s3",
      bucket: "bucket",
      prefix: "0/r/artifacts/model/",
    });
    expect(joinArtifactUri("mlflow-artifacts:/0/r/artifacts/", "model")).toBe("mlflow-artifacts:/0/r/artifacts/model");
  });

  it("refuses stores the fetcher cannot read, saying how to serve them", () => {
    expect(() => parseArtifactUri("file:///mlruns/0/r/artifacts", tracking)).toThrow(
      "the file: scheme, which the fetcher cannot read",
    );
    expect(() => parseArtifactUri("/mlruns/0/r", tracking)).toThrow("a local path");
    expect(() => parseArtifactUri("dbfs:/databricks/mlflow", tracking)).toThrow("--serve-artifacts");
    expect(() => parseArtifactUri("models:/m-0123", tracking)).toThrow("the models: scheme");
  });

  it("escapes listed names but keeps the root's own escapes in download URLs", () => {
    expect(
      artifactUrl({ baseUrl: "http://h/api/2.0/mlflow-artifacts/artifacts", root: "1/a%20b" }, "dir/x y#1?.bin"),
    ).toBe("http://h/api/2.0/mlflow-artifacts/artifacts/1/a%20b/dir/x%20y%231%3F.bin");
    expect(artifactUrl({ baseUrl: "http://h/api/2.0/mlflow-artifacts/artifacts", root: "" }, "MLmodel")).toBe(
      "http://h/api/2.0/mlflow-artifacts/artifacts/MLmodel",
    );
  });
});

describe("mlflow: prefetch targets (MLflow's models:/ grammar)", () => {
  const flags = { files: undefined, endpoint: "https://mlflow.example", repoType: undefined };

  it("reads versions, stages, latest and aliases", () => {
    expect(parseSelector("churn/3")).toEqual({ name: "churn", version: "3" });
    expect(parseSelector("churn/Production")).toEqual({ name: "churn", stage: "Production" });
    expect(parseSelector("churn/latest")).toEqual({ name: "churn", version: "latest" });
    expect(parseSelector("churn@champion")).toEqual({ name: "churn", alias: "champion" });
    expect(() => parseSelector("churn")).toThrow("Write it as mlflow:NAME/VERSION");
    expect(() => parseSelector("churn/3/extra")).toThrow("Cannot read the MLflow target");
  });

  it("writes the source and the snippet, models:/ URIs included", () => {
    const target = mlflowPrefetch.parse("/churn@champion", flags);
    expect(target.source).toEqual({
      type: "mlflow",
      trackingUri: "https://mlflow.example",
      modelName: "churn",
      modelVersion: null,
      modelStage: null,
      modelAlias: "champion",
    });
    expect(target.nixValue).toEqual({
      trackingUri: "https://mlflow.example",
      modelName: "churn",
      modelAlias: "champion",
    });
    expect(target.defaultName).toBe("churn");
    expect(() => mlflowPrefetch.parse("churn/3", { ...flags, files: ["*.pkl"] })).toThrow(
      "--files does not apply to MLflow models",
    );
  });
});

describe("MLflow credentials, in MLflow's order after the library's own", () => {
  it("prefers Basic over a token, as MLflow does, and auth.tokenFile over both", async () => {
    const env = {
      MLFLOW_TRACKING_USERNAME: "u",
      MLFLOW_TRACKING_PASSWORD: "secret-password",
      MLFLOW_TRACKING_TOKEN: "token-value",
    };
    const basic = await findMlflowCredential(noAuth, env);
    expect(basic).toEqual({
      authorization: `Basic ${Buffer.from("u:secret-password").toString("base64")}`,
      origin: "$MLFLOW_TRACKING_USERNAME/$MLFLOW_TRACKING_PASSWORD",
    });
    expect(redact(`x ${basic!.authorization} secret-password`)).not.toMatch(/secret-password|dTpzZWNyZXQtcGFzc3dvcmQ=/);

    expect(
      await findMlflowCredential(noAuth, { MLFLOW_TRACKING_USERNAME: "u", MLFLOW_TRACKING_TOKEN: "token-value" }),
    ).toEqual({
      authorization: "Bearer token-value",
      origin: "$MLFLOW_TRACKING_TOKEN",
    });

    const dir = await mkdtemp(join(tmpdir(), "nmr-mlflow-cred-"));
    await writeFile(join(dir, "token"), "file-token\n");
    expect(await findMlflowCredential({ tokenFile: join(dir, "token"), tokenEnvVar: null }, env)).toMatchObject({
      authorization: "Bearer file-token",
    });
    expect(
      await findMlflowCredential({ tokenFile: null, tokenEnvVar: "MY_TOKEN" }, { ...env, MY_TOKEN: "mine" }),
    ).toMatchObject({ authorization: "Bearer mine", origin: "$MY_TOKEN" });
    // An empty auth.tokenEnvVar falls through to MLflow's own variables.
    expect(await findMlflowCredential({ tokenFile: null, tokenEnvVar: "MY_TOKEN" }, env)).toMatchObject({
      authorization: expect.stringMatching(/^Basic /),
    });
  });

  it("reads ~/.mlflow/credentials last, and nothing means anonymous", async () => {
    const home = await mkdtemp(join(tmpdir(), "nmr-mlflow-home-"));
    expect(await findMlflowCredential(noAuth, { HOME: home })).toBeNull();
    await import("node:fs/promises").then(({ mkdir }) => mkdir(join(home, ".mlflow")));
    await writeFile(
      join(home, ".mlflow", "credentials"),
      "[other]\nmlflow_tracking_username = no\n[mlflow]\nmlflow_tracking_username = filed\nmlflow_tracking_password = filed-password\n",
    );
    expect(await findMlflowCredential(noAuth, { HOME: home })).toEqual({
      authorization: `Basic ${Buffer.from("filed:filed-password").toString("base64")}`,
      origin: join(home, ".mlflow", "credentials"),
    });
  });
});
