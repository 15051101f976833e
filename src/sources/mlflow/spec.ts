import { type FieldReader, invalid } from "../../spec/fields.js";
import { checkHttpUrl } from "../../spec/url.js";
import { UserError } from "../../errors/user-error.js";

/**
 * source.mlflow: the artifacts of a registered model version on an MLflow tracking
 * server, chosen by exactly one of version, stage or alias. docs/sources/mlflow.md.
 */
export interface MlflowSource {
  readonly type: "mlflow";
  /** The tracking server, http(s); REST calls go to <trackingUri>/api/2.0/mlflow/... */
  readonly trackingUri: string;
  readonly modelName: string;
  /** Decimal digits, or "latest" (the highest version in any stage). */
  readonly modelVersion: string | null;
  /** A stage (None, Staging, Production, Archived; any case), as MLflow's models:/name/stage. */
  readonly modelStage: string | null;
  /** An alias (MLflow >= 2.3), as MLflow's models:/name@alias. */
  readonly modelAlias: string | null;
}

/** Which registered version is asked for; stage, alias and "latest" are moving pointers. */
export type MlflowSelector =
  | { readonly kind: "version"; readonly version: string }
  | { readonly kind: "latest" }
  | { readonly kind: "stage"; readonly stage: string }
  | { readonly kind: "alias"; readonly alias: string };

const VERSION = /^[1-9][0-9]{0,18}$/;
const MAX_ALIAS_BYTES = 256;

export function parseMlflowSource(r: FieldReader): MlflowSource {
  const source: MlflowSource = {
    type: "mlflow",
    trackingUri: r.string("trackingUri"),
    modelName: r.string("modelName"),
    modelVersion: r.optionalString("modelVersion"),
    modelStage: r.optionalString("modelStage"),
    modelAlias: r.optionalString("modelAlias"),
  };
  r.done();
  checkTrackingUri(source.trackingUri, `${r.where}.trackingUri`);
  checkModelName(source.modelName, `${r.where}.modelName`);
  selectorOf(source, r.where);
  return source;
}

/** Exactly one of modelVersion / modelStage / modelAlias. */
export function selectorOf(
  source: Pick<MlflowSource, "modelVersion" | "modelStage" | "modelAlias">,
  where = "spec.source",
): MlflowSelector {
  const given = (["modelVersion", "modelStage", "modelAlias"] as const).filter((key) => source[key] !== null);
  if (given.length !== 1) {
    throw new UserError({
      what: `Invalid fetch spec: ${where} needs exactly one of modelVersion, modelStage and modelAlias, got ${given.length === 0 ? "none" : given.join(" and ")}`,
      fix: [
        'Pin a version (modelVersion = "3"), or follow a stage (modelStage = "Production") or an alias (modelAlias = "champion"), whose resolved version is recorded in the output.',
      ],
    });
  }
  if (source.modelVersion !== null) {
    if (source.modelVersion.toLowerCase() === "latest") return { kind: "latest" };
    if (!VERSION.test(source.modelVersion))
      throw invalid(`${where}.modelVersion`, 'must be a version number like "3" (or "latest")', source.modelVersion);
    return { kind: "version", version: source.modelVersion };
  }
  if (source.modelStage !== null) {
    if (/[\0\r\n]/.test(source.modelStage))
      throw invalid(`${where}.modelStage`, "must be a stage name", source.modelStage);
    return { kind: "stage", stage: source.modelStage };
  }
  const alias = source.modelAlias!;
  if (Buffer.byteLength(alias) > MAX_ALIAS_BYTES || /[\0\r\n/]/.test(alias))
    throw invalid(`${where}.modelAlias`, `must be an alias (at most ${MAX_ALIAS_BYTES} bytes, no "/")`, alias);
  return { kind: "alias", alias };
}

/** How the selector reads in messages: "version 3", "stage Production", "alias champion". */
export function describeSelector(selector: MlflowSelector): string {
  switch (selector.kind) {
    case "version":
      return `version ${selector.version}`;
    case "latest":
      return "the latest version";
    case "stage":
      return `stage ${selector.stage}`;
    case "alias":
      return `alias @${selector.alias}`;
  }
}

function checkModelName(name: string, where: string): void {
  // A "/" would make models:/NAME/VERSION ambiguous; MLflow refuses it in names too.
  if (/[\0\r\n/]/.test(name)) throw invalid(where, 'must be a registered model name (no "/")', name);
}

function checkTrackingUri(uri: string, where: string): void {
  checkHttpUrl(uri, where, {
    example: "https://mlflow.example",
    credentialsFrom: "MLFLOW_TRACKING_USERNAME/PASSWORD, MLFLOW_TRACKING_TOKEN or auth.tokenFile",
    schemeNote: "the fetcher talks to MLflow's REST API; databricks and file stores are not supported",
  });
}
