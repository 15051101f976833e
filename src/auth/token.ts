import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { UserError } from "../errors/user-error.js";
import { registerSecret } from "../util/secrets.js";
import type { AuthSpec } from "../spec/auth.js";

/**
 * Finds the token for a source in the order docs/architecture.md gives: `auth.tokenFile`,
 * then the environment (`auth.tokenEnvVar` first, as the more specific choice, then
 * the source's standard variables), then the source's standard credential files,
 * else anonymous. The token is registered as a secret before it is returned; the
 * origin (never the value) is what messages show.
 */
export interface TokenLookup {
  readonly auth: AuthSpec;
  readonly env: NodeJS.ProcessEnv;
  /** The source's standard variables, in order, e.g. HF_TOKEN, HUGGING_FACE_HUB_TOKEN. */
  readonly standardEnvVars: readonly string[];
  /** The source's standard token files, in order (already expanded). */
  readonly standardFiles: readonly string[];
}

export interface FoundToken {
  readonly token: string;
  /** "auth.tokenFile /run/secrets/hf", "$HF_TOKEN", "/root/.cache/huggingface/token". */
  readonly origin: string;
}

export async function findToken(lookup: TokenLookup): Promise<FoundToken | null> {
  const { auth, env } = lookup;
  if (auth.tokenFile !== null) {
    const token = await readTokenFile(auth.tokenFile, true);
    if (token === null) {
      throw new UserError({
        what: "auth.tokenFile is empty",
        context: { tokenFile: auth.tokenFile },
        fix: ["Write the token into the file (one line), or remove auth.tokenFile."],
      });
    }
    return found(token, `auth.tokenFile ${auth.tokenFile}`);
  }
  const variables = [...(auth.tokenEnvVar ? [auth.tokenEnvVar] : []), ...lookup.standardEnvVars];
  for (const name of variables) {
    const value = env[name]?.trim();
    if (value) return found(value, `$${name}`);
  }
  for (const file of lookup.standardFiles) {
    const token = await readTokenFile(file, false);
    if (token !== null) return found(token, file);
  }
  return null;
}

function found(token: string, origin: string): FoundToken {
  registerSecret(token);
  return { token, origin };
}

/** Reads a token file; a missing standard file is normal, a missing configured one is an error. */
async function readTokenFile(path: string, required: boolean): Promise<string | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (!required) return null;
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new UserError({
      what: "Cannot read auth.tokenFile inside the build",
      context: { tokenFile: path },
      cause: `${code}: ${(error as Error).message}`,
      fix: [
        "The file is read by the builder, not by `nix` on your shell: it must exist on the machine that builds.",
        "With nix-daemon and the sandbox on, make it visible to builders: extra-sandbox-paths = /run/secrets/hf-token (nix.conf; on NixOS nix.settings.extra-sandbox-paths), and readable by the nixbld users.",
        "Or give the token through the daemon's environment (systemd EnvironmentFile for nix-daemon) instead; see docs/authentication.md.",
      ],
    });
  }
  const token = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .find((line) => line !== "");
  return token ?? null;
}

/** `~` expansion for the standard files: HOME inside a Nix build is /homeless-shelter. */
export function homePath(env: NodeJS.ProcessEnv, ...segments: string[]): string {
  return join(env["HOME"] ?? homedir(), ...segments);
}
