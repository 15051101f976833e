import { type FieldReader, invalid } from "./fields.js";

/**
 * The spec's `auth` block: where the token is, never the token itself (a secret in the
 * spec would be written into the .drv and the store).
 */
export interface AuthSpec {
  /** Name of an extra environment variable holding the token (tried before the source's standard ones). */
  readonly tokenEnvVar: string | null;
  /** Path of a file holding the token, read at build time. */
  readonly tokenFile: string | null;
}

const ENV_VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function parseAuth(r: FieldReader): AuthSpec {
  const auth = { tokenEnvVar: r.optionalString("tokenEnvVar"), tokenFile: r.optionalString("tokenFile") };
  r.done();
  if (auth.tokenEnvVar !== null && !ENV_VAR_NAME.test(auth.tokenEnvVar)) {
    throw invalid("spec.auth.tokenEnvVar", "must be an environment variable name like HF_TOKEN", auth.tokenEnvVar);
  }
  if (auth.tokenFile !== null && !auth.tokenFile.startsWith("/")) {
    throw invalid("spec.auth.tokenFile", "must be an absolute path like /run/secrets/hf-token", auth.tokenFile);
  }
  return auth;
}
