import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { findToken, homePath } from "../../auth/token.js";
import type { AuthSpec } from "../../spec/auth.js";
import { registerSecret } from "../../util/secrets.js";

/**
 * Credentials for a git host, the way git hosts take them: HTTP Basic (GitHub, GitLab,
 * Gitea, Bitbucket and Hugging Face all accept a token as the password; git credential
 * helpers hand out exactly that).
 *
 * Where they come from, first found wins (the order of docs/architecture.md):
 *   auth.tokenFile, then $<auth.tokenEnvVar>   "token" or "user:token"
 *   git's credential-store files               $XDG_CONFIG_HOME/git/credentials, ~/.git-credentials
 *                                              (lines https://user:token@host, matched by scheme and host)
 * A plain token gets the user name `x-access-token` (any name works for GitHub, GitLab
 * personal tokens and the Hub; GitLab OAuth tokens want `oauth2:<token>`, Bitbucket
 * `x-token-auth:<token>`).
 */
const DEFAULT_USER = "x-access-token";

export interface GitCredentials {
  /** The Authorization header value. */
  readonly authorization: string;
  /** Where it came from, for messages ("$GIT_TOKEN"), never the value. */
  readonly origin: string;
}

export async function findGitCredentials(
  auth: AuthSpec,
  env: NodeJS.ProcessEnv,
  url: URL,
): Promise<GitCredentials | null> {
  const token = await findToken({ auth, env, standardEnvVars: [], standardFiles: [] });
  if (token) return basic(token.token, token.origin);
  for (const file of credentialStoreFiles(env)) {
    const stored = await storedCredentials(file, url);
    if (stored) return basic(stored, file);
  }
  return null;
}

/** "user:token" stays as it is; a plain token gets DEFAULT_USER. */
export function basic(secret: string, origin: string): GitCredentials {
  const userAndPassword = secret.includes(":") ? secret : `${DEFAULT_USER}:${secret}`;
  const password = userAndPassword.slice(userAndPassword.indexOf(":") + 1);
  registerSecret(password);
  const authorization = `Basic ${Buffer.from(userAndPassword, "utf8").toString("base64")}`;
  registerSecret(authorization.slice("Basic ".length));
  return { authorization, origin };
}

/** git-credential-store's files, in the order it reads them. */
function credentialStoreFiles(env: NodeJS.ProcessEnv): string[] {
  const xdg = env["XDG_CONFIG_HOME"]
    ? join(env["XDG_CONFIG_HOME"], "git", "credentials")
    : homePath(env, ".config", "git", "credentials");
  return [homePath(env, ".git-credentials"), xdg];
}

async function storedCredentials(file: string, url: URL): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return undefined;
  }
  for (const line of text.split(/\r?\n/)) {
    let stored: URL;
    try {
      stored = new URL(line.trim());
    } catch {
      continue;
    }
    // git matches protocol and host; a stored path only matches with credential.useHttpPath, which we do not set.
    if (stored.protocol !== url.protocol || stored.host !== url.host || !stored.password) continue;
    if (stored.pathname !== "/" && stored.pathname !== "") continue;
    return `${decodeURIComponent(stored.username) || DEFAULT_USER}:${decodeURIComponent(stored.password)}`;
  }
  return undefined;
}
