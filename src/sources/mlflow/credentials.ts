import { readFile } from "node:fs/promises";
import { findToken, homePath } from "../../auth/token.js";
import type { AuthSpec } from "../../spec/auth.js";
import { logger } from "../../util/log.js";
import { registerSecret } from "../../util/secrets.js";

/**
 * The Authorization header for an MLflow tracking server, found the way the MLflow
 * client finds it (mlflow/utils/credentials.py, rest_utils.py), after the library's own
 * options (the order of docs/architecture.md):
 *
 *   1. auth.tokenFile, then auth.tokenEnvVar          → Bearer <token>
 *   2. MLFLOW_TRACKING_USERNAME + MLFLOW_TRACKING_PASSWORD → Basic
 *   3. MLFLOW_TRACKING_TOKEN                           → Bearer <token>
 *   4. ~/.mlflow/credentials, section [mlflow], mlflow_tracking_username/password → Basic
 *
 * MLFLOW_TRACKING_INSECURE_TLS is not honoured: TLS verification stays on (a private CA
 * goes into SSL_CERT_FILE / NIX_SSL_CERT_FILE instead).
 */
export interface MlflowCredential {
  readonly authorization: string;
  /** Where it came from, safe to print. */
  readonly origin: string;
}

export async function findMlflowCredential(auth: AuthSpec, env: NodeJS.ProcessEnv): Promise<MlflowCredential | null> {
  if (/^(true|1)$/i.test(env["MLFLOW_TRACKING_INSECURE_TLS"] ?? "")) {
    logger.warn(
      "MLFLOW_TRACKING_INSECURE_TLS is ignored: TLS verification stays on. Trust a private CA with SSL_CERT_FILE instead.",
    );
  }
  if (auth.tokenFile !== null || auth.tokenEnvVar !== null) {
    const token = await findToken({ auth, env, standardEnvVars: [], standardFiles: [] });
    if (token) return { authorization: `Bearer ${token.token}`, origin: token.origin };
  }
  const username = env["MLFLOW_TRACKING_USERNAME"];
  const password = env["MLFLOW_TRACKING_PASSWORD"];
  if (username && password) return basic(username, password, "$MLFLOW_TRACKING_USERNAME/$MLFLOW_TRACKING_PASSWORD");
  const token = env["MLFLOW_TRACKING_TOKEN"]?.trim();
  if (token) {
    registerSecret(token);
    return { authorization: `Bearer ${token}`, origin: "$MLFLOW_TRACKING_TOKEN" };
  }
  return credentialsFile(homePath(env, ".mlflow", "credentials"));
}

function basic(username: string, password: string, origin: string): MlflowCredential {
  const encoded = Buffer.from(`${username}:${password}`).toString("base64");
  registerSecret(password);
  registerSecret(encoded);
  return { authorization: `Basic ${encoded}`, origin };
}

/** MLflow's INI file: only the [mlflow] section's two keys matter. */
async function credentialsFile(path: string): Promise<MlflowCredential | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return null;
  }
  let section = "";
  const values = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!.trim();
      continue;
    }
    const pair = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(line);
    if (pair && section === "mlflow") values.set(pair[1]!.toLowerCase(), pair[2]!);
  }
  const username = values.get("mlflow_tracking_username");
  const password = values.get("mlflow_tracking_password");
  return username && password ? basic(username, password, path) : null;
}
