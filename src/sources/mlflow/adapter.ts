import { lowSpeedLimitOf } from "../../http/settings.js";
import type { AdapterContext, SourceAdapter } from "../adapter.js";
import type { PlannedFile, ResolvedModel } from "../../model/resolved-model.js";
import { checkRemotePaths } from "../remote-path.js";
import { UserError } from "../../errors/user-error.js";
import { logger } from "../../util/log.js";
import { DEFAULT_ENDPOINT_ENV_VARS, openS3 } from "../s3/client.js";
import { explainS3Failure } from "../s3/explain.js";
import { planS3Folder } from "../s3/folder.js";
import { listProxyArtifacts, planProxyFile } from "./artifact-proxy.js";
import { joinArtifactUri, parseArtifactUri, type ArtifactLocation } from "./artifact-uri.js";
import { findMlflowCredential, type MlflowCredential } from "./credentials.js";
import { explainMlflowFailure } from "./explain.js";
import { getDownloadUri, getRunArtifactUri, resolveModelVersion, type MlflowServer } from "./registry-api.js";
import { describeSelector, selectorOf, type MlflowSource } from "./spec.js";

/**
 * source.mlflow: resolve the registered version through the model registry (a stage,
 * alias or "latest" is a moving pointer: the version it resolved to is recorded in the
 * meta file), ask the registry where its artifacts are (get-download-uri, as MLflow's
 * client does), and plan every file under that folder. The output is the Hugging Face
 * layout with paths relative to the model's folder (MLmodel, model.pkl, ...).
 *
 * Not reproduced: the `registered_model_meta` file MLflow's Python client writes into
 * downloads; it is not remote content, and the meta file records name and version.
 */
export const mlflowAdapter: SourceAdapter<MlflowSource> = {
  describe(source) {
    return { source: "mlflow", model: source.modelName, version: describeSelector(selectorOf(source)) };
  },

  async resolve(source, context) {
    const trackingUri = source.trackingUri.replace(/\/+$/, "");
    const credential = await findMlflowCredential(context.auth, context.env);
    logger.info(
      credential
        ? `MLflow: using credentials from ${credential.origin}`
        : "MLflow: no credentials found; sending anonymous requests",
    );
    const server: MlflowServer = {
      trackingUri,
      // Only the tracking server's own host gets them: an artifact URI naming another host
      // is set by whoever registered the version, and must not collect the reader's password.
      credential: credential
        ? { authorization: credential.authorization, hosts: [new URL(trackingUri).host] }
        : undefined,
      signal: context.signal,
    };
    // A lock pins the version a stage, alias or "latest" resolved to (docs/lockfile.md).
    const pinned = context.pinned?.["version"];
    if (pinned !== undefined && !/^[1-9][0-9]{0,18}$/.test(pinned))
      throw new UserError({ what: `The pinned MLflow version ${JSON.stringify(pinned)} is not a version number` });
    const selector = pinned === undefined ? selectorOf(source) : ({ kind: "version", version: pinned } as const);
    const failureContext = {
      source: "mlflow",
      trackingUri,
      model: source.modelName,
      version: describeSelector(selector),
    };
    // A download's 404 is about a file, and the engine's message names it: only refusals are explained then.
    context.explainFailuresWith((failure, { file }) =>
      explainMlflowFailure(failure, failureContext, credential, file === undefined ? [401, 403, 404] : [401, 403]),
    );

    const modelVersion = await resolveModelVersion(context.http, server, source.modelName, selector);
    if (modelVersion.status !== undefined && modelVersion.status !== "READY") {
      throw new UserError({
        what: `Version ${modelVersion.version} of ${source.modelName} is ${modelVersion.status}, not READY`,
        context: failureContext,
        fix: ["Wait for its registration to finish, or pick another version."],
      });
    }
    const version = modelVersion.version;
    if (selector.kind !== "version")
      logger.info(`MLflow: ${source.modelName} ${describeSelector(selector)} is version ${version}`);
    const downloadUri = await getDownloadUri(context.http, server, source.modelName, version);

    const files = await planArtifacts(downloadUri, server, credential, context);
    if (files.length === 0) {
      throw new UserError({
        what: `Version ${version} of ${source.modelName} has no artifacts`,
        context: { ...failureContext, artifacts: downloadUri },
      });
    }
    return {
      commit: null,
      refs: [],
      files,
      // No trackingUri: the same model served from a migrated or mirrored server gives the same hash.
      metaSource: {
        type: source.type,
        modelName: source.modelName,
        modelVersion: source.modelVersion,
        modelStage: source.modelStage,
        modelAlias: source.modelAlias,
      },
      resolved: { version },
    } satisfies ResolvedModel;
  },
};

async function planArtifacts(
  downloadUri: string,
  server: MlflowServer,
  credential: MlflowCredential | null,
  context: AdapterContext,
): Promise<PlannedFile[]> {
  let location: ArtifactLocation = parseArtifactUri(downloadUri, server.trackingUri);
  let where = downloadUri;
  if (location.kind === "run") {
    // runs:/<id>/<path>: the run's own artifact URI, joined; MLflow's RunsArtifactRepository.
    const runUri = await getRunArtifactUri(context.http, server, location.runId);
    where = joinArtifactUri(runUri, location.path);
    location = parseArtifactUri(where, server.trackingUri);
    if (location.kind === "run")
      throw new UserError({ what: `The run's artifact URI ${runUri} points at another run` });
  }
  logger.info(`MLflow: artifacts at ${where}`);

  if (location.kind === "s3") {
    const folder = { bucket: location.bucket, prefix: location.prefix };
    // MLflow's own client reads MLFLOW_S3_ENDPOINT_URL; the AWS SDK's variables come after.
    const access = await openS3({
      region: null,
      endpoint: null,
      endpointEnvVars: ["MLFLOW_S3_ENDPOINT_URL", ...DEFAULT_ENDPOINT_ENV_VARS],
      env: context.env,
      dispatcher: context.http.dispatcher,
      lowSpeed: lowSpeedLimitOf(context.http.settings),
    });
    // From here on every failure is the bucket's.
    context.explainFailuresWith((failure) =>
      explainS3Failure(failure, access, { source: "mlflow", bucket: folder.bucket, prefix: folder.prefix }),
    );
    return [...(await planS3Folder(access, folder, () => true, context)).files];
  }

  const proxy = {
    baseUrl: location.baseUrl,
    root: location.root,
    credential: server.credential,
    signal: context.signal,
  };
  const proxyHost = new URL(location.baseUrl).host;
  if (credential && proxyHost !== new URL(server.trackingUri).host) {
    logger.warn(
      `MLflow: the artifacts are served by ${proxyHost}, not the tracking server: the credentials are not sent there`,
    );
  }
  const listed = await listProxyArtifacts(context.http, proxy);
  checkRemotePaths(
    listed.map((artifact) => artifact.path),
    `the artifact listing of ${where}`,
  );
  return listed.map((artifact) => planProxyFile(context.http, proxy, artifact));
}
