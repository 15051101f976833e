import { UserError } from "../../errors/user-error.js";
import { storeName, type PrefetchScheme } from "../prefetch-target.js";

/**
 * `mlflow:NAME/VERSION`, `mlflow:NAME/STAGE`, `mlflow:NAME/latest` and `mlflow:NAME@ALIAS`:
 * the grammar of MLflow's own `models:/` URIs (digits are a version, "latest" the
 * highest version, any other word a stage), which are accepted as they are too
 * (`models:/NAME@ALIAS`). The tracking server is --endpoint, else $MLFLOW_TRACKING_URI.
 */
export const mlflowPrefetch: PrefetchScheme = {
  prefixes: ["mlflow", "models"],
  example:
    "mlflow:NAME/VERSION | mlflow:NAME/STAGE | mlflow:NAME@ALIAS [--endpoint TRACKING_URI] (also models:/NAME/VERSION)",
  parse(rest, flags) {
    const target = rest.replace(/^\/+/, "");
    const selector = parseSelector(target);
    const trackingUri = flags.endpoint ?? process.env["MLFLOW_TRACKING_URI"];
    if (!trackingUri) {
      throw new UserError(
        {
          what: "prefetch of an MLflow model needs the tracking server",
          fix: ["Give it with --endpoint https://mlflow.example, or set MLFLOW_TRACKING_URI."],
        },
        { exitCode: 2 },
      );
    }
    if (flags.files && flags.files.length > 0) {
      throw new UserError(
        { what: "--files does not apply to MLflow models: a model version's artifacts are fetched whole" },
        { exitCode: 2 },
      );
    }
    const source = {
      type: "mlflow",
      trackingUri,
      modelName: selector.name,
      modelVersion: selector.version ?? null,
      modelStage: selector.stage ?? null,
      modelAlias: selector.alias ?? null,
    };
    return {
      source,
      defaultName: storeName(selector.name),
      nixAttribute: "mlflow",
      nixValue: {
        trackingUri,
        modelName: selector.name,
        ...(selector.version === undefined ? {} : { modelVersion: selector.version }),
        ...(selector.stage === undefined ? {} : { modelStage: selector.stage }),
        ...(selector.alias === undefined ? {} : { modelAlias: selector.alias }),
      },
    };
  },
};

interface TargetSelector {
  readonly name: string;
  readonly version?: string;
  readonly stage?: string;
  readonly alias?: string;
}

export function parseSelector(target: string): TargetSelector {
  const slash = target.indexOf("/");
  if (slash === -1) {
    const at = target.lastIndexOf("@");
    if (at > 0 && at < target.length - 1) return { name: target.slice(0, at), alias: target.slice(at + 1) };
  } else {
    const name = target.slice(0, slash);
    const pointer = target.slice(slash + 1);
    if (name !== "" && pointer !== "" && !pointer.includes("/")) {
      if (/^[0-9]+$/.test(pointer)) return { name, version: pointer };
      if (pointer.toLowerCase() === "latest") return { name, version: "latest" };
      return { name, stage: pointer };
    }
  }
  throw new UserError(
    {
      what: `Cannot read the MLflow target '${target}'`,
      fix: [
        "Write it as mlflow:NAME/VERSION (mlflow:churn/3), mlflow:NAME/STAGE (mlflow:churn/Production), mlflow:NAME/latest or mlflow:NAME@ALIAS (mlflow:churn@champion).",
      ],
    },
    { exitCode: 2 },
  );
}
