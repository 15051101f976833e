import type { HttpClient } from "../../http/client.js";
import type { Credential } from "../../http/settings.js";
import { TransferFailure } from "../../errors/failures.js";
import { UserError } from "../../errors/user-error.js";
import type { MlflowSelector } from "./spec.js";

/**
 * The model registry calls the fetcher makes, all GETs under <tracking>/api/2.0/mlflow/
 * (mlflow/protos/model_registry.proto; docs rest-api.rst), and what MLflow's client
 * does with their answers (mlflow/store/artifact/utils/models.py).
 */
export interface MlflowServer {
  /** The tracking URI without a trailing "/". */
  readonly trackingUri: string;
  readonly credential: Credential | undefined;
  readonly signal: AbortSignal;
}

export interface ModelVersion {
  readonly name: string;
  /** Decimal digits. */
  readonly version: string;
  readonly status: string | undefined;
  readonly currentStage: string | undefined;
}

function restUrl(
  server: MlflowServer,
  endpoint: string,
  query: Readonly<Record<string, string | readonly string[]>>,
): URL {
  const url = new URL(`${server.trackingUri}/api/2.0/mlflow/${endpoint}`);
  for (const [key, value] of Object.entries(query)) {
    for (const item of typeof value === "string" ? [value] : value) url.searchParams.append(key, item);
  }
  return url;
}

async function call(
  http: HttpClient,
  server: MlflowServer,
  endpoint: string,
  query: Readonly<Record<string, string | readonly string[]>>,
): Promise<unknown> {
  const response = await http.getJson(restUrl(server, endpoint, query), {
    credential: server.credential,
    signal: server.signal,
  });
  return response.body;
}

/** The registered version a selector names, as MLflow's own `models:/` resolution picks it. */
export async function resolveModelVersion(
  http: HttpClient,
  server: MlflowServer,
  name: string,
  selector: MlflowSelector,
): Promise<ModelVersion> {
  switch (selector.kind) {
    case "version":
      return modelVersionFrom(
        await call(http, server, "model-versions/get", { name, version: selector.version }),
        "model-versions/get",
      );
    case "alias":
      return modelVersionFrom(
        await call(http, server, "registered-models/alias", { name, alias: selector.alias }),
        "registered-models/alias",
      );
    case "stage": {
      // _get_model_version_from_stage: the first of get_latest_versions(name, [stage]).
      const [first] = await latestVersions(http, server, name, [selector.stage]);
      if (first === undefined) throw nothingInStage(name, selector.stage);
      return first;
    }
    case "latest": {
      // _get_latest_model_version: the highest version over every stage's latest.
      const versions = await latestVersions(http, server, name, []);
      const highest = versions.reduce<ModelVersion | undefined>(
        (best, v) => (best === undefined || BigInt(v.version) > BigInt(best.version) ? v : best),
        undefined,
      );
      if (highest === undefined) throw new UserError({ what: `The registered model ${name} has no versions` });
      return highest;
    }
  }
}

async function latestVersions(
  http: HttpClient,
  server: MlflowServer,
  name: string,
  stages: readonly string[],
): Promise<ModelVersion[]> {
  // The GET form of get-latest-versions (the proto allows GET and POST); stages repeat.
  const body = await call(
    http,
    server,
    "registered-models/get-latest-versions",
    stages.length === 0 ? { name } : { name, stages },
  );
  const list = objectField(body, "model_versions", "registered-models/get-latest-versions", true);
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw malformed("registered-models/get-latest-versions", "model_versions is not a list");
  return list.map((item) => modelVersionFrom({ model_version: item }, "registered-models/get-latest-versions"));
}

/** model-versions/get-download-uri: the server's `storage_location or source`. */
export async function getDownloadUri(
  http: HttpClient,
  server: MlflowServer,
  name: string,
  version: string,
): Promise<string> {
  const body = await call(http, server, "model-versions/get-download-uri", { name, version });
  const uri = objectField(body, "artifact_uri", "model-versions/get-download-uri");
  if (typeof uri !== "string" || uri === "")
    throw malformed("model-versions/get-download-uri", "artifact_uri is missing");
  return uri;
}

/** runs/get: where a run keeps its artifacts (for runs:/ URIs). */
export async function getRunArtifactUri(http: HttpClient, server: MlflowServer, runId: string): Promise<string> {
  const body = await call(http, server, "runs/get", { run_id: runId });
  const run = objectField(body, "run", "runs/get");
  const info = objectField(run, "info", "runs/get");
  const uri = objectField(info, "artifact_uri", "runs/get");
  if (typeof uri !== "string" || uri === "") throw malformed("runs/get", "run.info.artifact_uri is missing");
  return uri;
}

function modelVersionFrom(body: unknown, endpoint: string): ModelVersion {
  const item = objectField(body, "model_version", endpoint);
  const name = objectField(item, "name", endpoint, true);
  const version = objectField(item, "version", endpoint);
  const text = typeof version === "number" ? String(version) : version;
  // The version goes into the output's meta file and the resolved facts: digits only.
  if (typeof text !== "string" || !/^[0-9]{1,19}$/.test(text))
    throw malformed(endpoint, `version ${JSON.stringify(version)} is not a number`);
  const status = objectField(item, "status", endpoint, true);
  const stage = objectField(item, "current_stage", endpoint, true);
  return {
    name: typeof name === "string" ? name : "",
    version: String(BigInt(text)),
    status: typeof status === "string" ? status : undefined,
    currentStage: typeof stage === "string" ? stage : undefined,
  };
}

function objectField(value: unknown, key: string, endpoint: string, optional = false): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw malformed(endpoint, `expected an object holding ${key}`);
  const field = (value as Record<string, unknown>)[key];
  if (field === undefined && !optional) throw malformed(endpoint, `${key} is missing`);
  return field;
}

function malformed(endpoint: string, why: string): TransferFailure {
  return new TransferFailure(`malformed answer from MLflow's ${endpoint}: ${why}`, {
    retryable: false,
    code: "NMR_BAD_RESPONSE",
  });
}

function nothingInStage(name: string, stage: string): UserError {
  return new UserError({
    what: `No version of the registered model ${name} is in stage ${stage}`,
    fix: ["Check the stage name (None, Staging, Production, Archived), or pin modelVersion instead."],
  });
}
