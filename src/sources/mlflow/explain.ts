import type { Explanation } from "../../errors/explain.js";
import { type Failure, TransferFailure } from "../../errors/failures.js";
import type { FailureContext } from "../../errors/render.js";
import type { MlflowCredential } from "./credentials.js";

/**
 * The MLflow source's explain hook: MLflow failures in the user's terms. The server's
 * JSON error ({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": ...}) already reached the
 * TransferFailure as its serverMessage; here it gets the model, the selector, where the
 * credentials came from (never their value) and what to do.
 */
export function explainMlflowFailure(
  failure: Failure,
  context: FailureContext,
  credential: MlflowCredential | null,
  /** The statuses to explain; a download's 404 is about a file, and the engine's message names it. */
  statuses: readonly number[] = [401, 403, 404],
): Explanation | undefined {
  if (!(failure instanceof TransferFailure) || failure.status === undefined || !statuses.includes(failure.status)) {
    return undefined;
  }
  const where: FailureContext = {
    ...context,
    credentials: credential ? `from ${credential.origin}` : "none (anonymous)",
  };
  const cause = failure.message;
  if (failure.status === 401) {
    return {
      what: credential ? "The MLflow server refused the credentials" : "The MLflow server needs credentials",
      context: where,
      cause,
      fix: [
        "Give them to the builder: MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (Basic), or MLFLOW_TRACKING_TOKEN (Bearer), or auth.tokenFile.",
        "With nix-daemon the variables must be in the daemon's environment (systemd EnvironmentFile); see docs/sources/mlflow.md.",
      ],
    };
  }
  if (failure.status === 403) {
    return {
      what: "The MLflow server does not let these credentials read the model",
      context: where,
      cause,
      fix: ["Ask for READ permission on the registered model (MLflow's basic-auth app: RegisteredModelPermission)."],
    };
  }
  if (failure.status === 404) {
    return {
      what: `The MLflow server does not have ${context["model"]} ${context["version"] ?? ""}`.trimEnd(),
      context: where,
      cause,
      fix: [
        "Check the model name, the version/stage/alias and trackingUri (registered model names are case-sensitive).",
      ],
    };
  }
  return undefined;
}
