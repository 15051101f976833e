import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdir, readFile, readdir, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";

/**
 * A protocol-faithful MLflow tracking server for tests, for the REST subset the fetcher
 * uses, written from MLflow's REST reference (docs/api_reference/source/rest-api.rst,
 * mlflow/protos/model_registry.proto, mlflow_artifacts.proto) and server handlers
 * (mlflow/server/handlers.py, store/model_registry/sqlalchemy_store.py):
 *
 *   GET /api/2.0/mlflow/model-versions/get?name=&version=          {"model_version": {...}}
 *   GET /api/2.0/mlflow/registered-models/get-latest-versions?name=&stages=...   {"model_versions": [...]}
 *   GET /api/2.0/mlflow/registered-models/alias?name=&alias=       {"model_version": {...}}
 *   GET /api/2.0/mlflow/model-versions/get-download-uri?name=&version=  {"artifact_uri": storage_location or source}
 *   GET /api/2.0/mlflow/runs/get?run_id=                           {"run": {"info": {"artifact_uri": ...}, "data": {}}}
 *   GET /api/2.0/mlflow-artifacts/artifacts?path=                  {"files": [{"path": <basename>, "is_dir", "file_size"}]}
 *   GET /api/2.0/mlflow-artifacts/artifacts/<path>                 the bytes (streamed, no Range: MLflow streams a generator)
 *
 * Errors are MLflow's JSON: {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": ...} with
 * 404, INVALID_PARAMETER_VALUE with 400. Auth, when configured, is the basic-auth app's
 * rule: Basic user:password, or a Bearer token; otherwise 401. The `/preview/` aliases of
 * the REST paths are served too. Versions are strings in JSON, as proto int64 fields are.
 */
export interface MlflowTestServer {
  readonly url: string;
  /** Artifacts served by the proxy live here (the server's --artifacts-destination). */
  readonly artifactsRoot: string;
  readonly requests: RecordedMlflowRequest[];
  readonly faults: MlflowFaults;
  /** Registers a version; artifacts are written under the proxy root at `artifactPath`. */
  addVersion(version: TestModelVersion): Promise<void>;
  setAlias(name: string, alias: string, version: number): void;
  setStage(name: string, version: number, stage: string): void;
  addRun(runId: string, artifactUri: string): void;
  close(): Promise<void>;
}

export interface TestModelVersion {
  readonly name: string;
  readonly version: number;
  readonly stage?: string;
  /** The version's `source` (e.g. runs:/<id>/model or mlflow-artifacts:/...). */
  readonly source: string;
  /** storage_location, which get-download-uri prefers over source. */
  readonly storageLocation?: string;
  readonly status?: "READY" | "PENDING_REGISTRATION" | "FAILED_REGISTRATION";
  /** Files to write under the artifact root: path under the root → content. */
  readonly artifacts?: { readonly folder: string; readonly files: Readonly<Record<string, Buffer | string>> };
}

export interface RecordedMlflowRequest {
  readonly method: string;
  readonly url: string;
  readonly authorization: string | undefined;
}

export interface MlflowFaults {
  /** Replaces the bytes of an artifact download (path under the artifact root). */
  alterDownload?: ((path: string, bytes: Buffer) => Buffer) | undefined;
  /** Rewrites an artifact listing (path listed, its entries). */
  rewriteListing?: ((path: string, files: ListedFile[]) => ListedFile[]) | undefined;
}

export interface ListedFile {
  path: string;
  is_dir: boolean;
  file_size?: number | string;
}

export interface MlflowServerOptions {
  readonly artifactsRoot: string;
  readonly basicAuth?: { readonly username: string; readonly password: string };
  readonly token?: string;
}

const STAGES = ["None", "Staging", "Production", "Archived"] as const;

interface StoredVersion {
  name: string;
  version: number;
  stage: string;
  source: string;
  storageLocation: string | undefined;
  status: string;
  runId: string;
}

class MlflowError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startMlflowServer(options: MlflowServerOptions): Promise<MlflowTestServer> {
  const versions: StoredVersion[] = [];
  const aliases = new Map<string, Map<string, number>>();
  const runs = new Map<string, string>();
  const requests: RecordedMlflowRequest[] = [];
  const faults: MlflowFaults = {};
  const root = resolve(options.artifactsRoot);

  const findVersion = (name: string, version: string | null): StoredVersion => {
    if (!versions.some((v) => v.name === name))
      throw new MlflowError(404, "RESOURCE_DOES_NOT_EXIST", `Registered Model with name=${name} not found`);
    const found = versions.find((v) => v.name === name && String(v.version) === version);
    if (!found)
      throw new MlflowError(
        404,
        "RESOURCE_DOES_NOT_EXIST",
        `Model Version (name=${name}, version=${version}) not found`,
      );
    return found;
  };

  const entity = (v: StoredVersion) => ({
    name: v.name,
    version: String(v.version),
    creation_timestamp: 1700000000000 + v.version,
    last_updated_timestamp: 1700000000000 + v.version,
    current_stage: v.stage,
    description: "",
    source: v.source,
    run_id: v.runId,
    status: v.status,
    aliases: [...(aliases.get(v.name) ?? new Map()).entries()]
      .filter(([, n]) => n === v.version)
      .map(([alias]) => alias),
  });

  const registry = (endpoint: string, query: URLSearchParams): unknown => {
    const required = (key: string): string => {
      const value = query.get(key);
      if (value === null || value === "")
        throw new MlflowError(400, "INVALID_PARAMETER_VALUE", `Missing value for required parameter '${key}'.`);
      return value;
    };
    switch (endpoint) {
      case "model-versions/get":
        return { model_version: entity(findVersion(required("name"), required("version"))) };
      case "registered-models/get-latest-versions": {
        const name = required("name");
        if (!versions.some((v) => v.name === name))
          throw new MlflowError(404, "RESOURCE_DOES_NOT_EXIST", `Registered Model with name=${name} not found`);
        const asked = query.getAll("stages");
        const stages = asked.length === 0 ? [...STAGES] : asked.map(canonicalStage);
        const latest = new Map<string, StoredVersion>();
        for (const v of versions) {
          if (v.name !== name) continue;
          const current = latest.get(v.stage);
          if (current === undefined || current.version < v.version) latest.set(v.stage, v);
        }
        return { model_versions: [...latest.values()].filter((v) => stages.includes(v.stage)).map(entity) };
      }
      case "registered-models/alias": {
        const name = required("name");
        const alias = required("alias");
        const version = aliases.get(name)?.get(alias);
        if (version === undefined)
          throw new MlflowError(404, "RESOURCE_DOES_NOT_EXIST", `Registered model alias ${alias} not found.`);
        return { model_version: entity(findVersion(name, String(version))) };
      }
      case "model-versions/get-download-uri": {
        const v = findVersion(required("name"), required("version"));
        return { artifact_uri: v.storageLocation ?? v.source };
      }
      case "runs/get": {
        const runId = required("run_id");
        const artifactUri = runs.get(runId);
        if (artifactUri === undefined)
          throw new MlflowError(404, "RESOURCE_DOES_NOT_EXIST", `Run with id=${runId} not found`);
        return {
          run: {
            info: {
              run_id: runId,
              run_uuid: runId,
              experiment_id: "0",
              status: "FINISHED",
              artifact_uri: artifactUri,
              lifecycle_stage: "active",
            },
            data: {},
          },
        };
      }
      default:
        throw new MlflowError(404, "ENDPOINT_NOT_FOUND", `No API endpoint for ${endpoint}`);
    }
  };

  const artifactPath = (relative: string): string => {
    const full = resolve(root, relative);
    if (full !== root && !full.startsWith(root + sep))
      throw new MlflowError(400, "INVALID_PARAMETER_VALUE", "Invalid path");
    return full;
  };

  const listArtifacts = async (path: string): Promise<unknown> => {
    const full = artifactPath(path);
    let files: ListedFile[] = [];
    try {
      for (const entry of await readdir(full, { withFileTypes: true })) {
        // handlers.py: the basename only; file_size for files only.
        files.push(
          entry.isDirectory()
            ? { path: entry.name, is_dir: true }
            : { path: entry.name, is_dir: false, file_size: (await stat(join(full, entry.name))).size },
        );
      }
    } catch {
      files = [];
    }
    if (faults.rewriteListing) files = faults.rewriteListing(path, files);
    // An empty listing leaves "files" out, as proto JSON omits empty repeated fields.
    return files.length === 0 ? {} : { files };
  };

  const authorized = (request: IncomingMessage): boolean => {
    if (options.basicAuth === undefined && options.token === undefined) return true;
    const header = request.headers["authorization"] ?? "";
    if (
      options.basicAuth &&
      header ===
        `Basic ${Buffer.from(`${options.basicAuth.username}:${options.basicAuth.password}`).toString("base64")}`
    )
      return true;
    return options.token !== undefined && header === `Bearer ${options.token}`;
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? "/", "http://mlflow");
    requests.push({
      method: request.method ?? "GET",
      url: request.url ?? "/",
      authorization: request.headers["authorization"],
    });
    if (!authorized(request)) {
      response.writeHead(401, { "content-type": "text/plain", "www-authenticate": 'Basic realm="mlflow"' });
      response.end(
        "You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate.",
      );
      return;
    }
    if (request.method !== "GET") throw new MlflowError(405, "BAD_REQUEST", "Only GET is served here");
    const registryMatch = /^\/api\/2\.0\/(?:preview\/)?mlflow\/(.+)$/.exec(url.pathname);
    if (registryMatch) return sendJson(response, 200, registry(registryMatch[1]!, url.searchParams));
    if (url.pathname === "/api/2.0/mlflow-artifacts/artifacts")
      return sendJson(response, 200, await listArtifacts(url.searchParams.get("path") ?? ""));
    const download = /^\/api\/2\.0\/mlflow-artifacts\/artifacts\/(.+)$/.exec(url.pathname);
    if (download) {
      const relative = decodeURIComponent(download[1]!);
      let bytes: Buffer;
      try {
        bytes = await readFile(artifactPath(relative));
      } catch (error) {
        if (error instanceof MlflowError) throw error;
        throw new MlflowError(404, "RESOURCE_DOES_NOT_EXIST", `File ${relative} not found`);
      }
      if (faults.alterDownload) bytes = faults.alterDownload(relative, bytes);
      response.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(bytes.length) });
      response.end(bytes);
      return;
    }
    throw new MlflowError(404, "ENDPOINT_NOT_FOUND", `No route for ${url.pathname}`);
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (error instanceof MlflowError)
        sendJson(response, error.status, { error_code: error.code, message: error.message });
      else sendJson(response, 500, { error_code: "INTERNAL_ERROR", message: String(error) });
    });
  });
  await new Promise<void>((ready) => server.listen(0, "127.0.0.1", ready));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    artifactsRoot: root,
    requests,
    faults,
    async addVersion(version) {
      if (version.artifacts) {
        for (const [path, content] of Object.entries(version.artifacts.files)) {
          const file = join(root, version.artifacts.folder, path);
          await mkdir(dirname(file), { recursive: true });
          await writeFile(file, content);
        }
      }
      versions.push({
        name: version.name,
        version: version.version,
        stage: canonicalStage(version.stage ?? "None"),
        source: version.source,
        storageLocation: version.storageLocation,
        status: version.status ?? "READY",
        runId: /^runs:\/([^/]+)/.exec(version.source)?.[1] ?? "",
      });
    },
    setAlias(name, alias, version) {
      if (!aliases.has(name)) aliases.set(name, new Map());
      aliases.get(name)!.set(alias, version);
    },
    setStage(name, version, stage) {
      findVersion(name, String(version)).stage = canonicalStage(stage);
    },
    addRun(runId, artifactUri) {
      runs.set(runId, artifactUri);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

/** model_registry/__init__.py get_canonical_stage: case-insensitive, else INVALID_PARAMETER_VALUE. */
function canonicalStage(stage: string): string {
  const found = STAGES.find((known) => known.toLowerCase() === stage.toLowerCase());
  if (found === undefined)
    throw new MlflowError(
      400,
      "INVALID_PARAMETER_VALUE",
      `Invalid Model Version stage: ${stage}. Value must be one of ${STAGES.join(", ")}.`,
    );
  return found;
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) });
  response.end(text);
}
