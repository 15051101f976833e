import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The bundled CLI (built by test/global-setup.ts), run as users run it. */
export const cliPath = fileURLToPath(new URL("../../dist/nix-model-repo.mjs", import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; nodeArgs?: readonly string[] } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...(options.nodeArgs ?? []), cliPath, ...args],
      {
        env: { ...process.env, NIX_MODEL_REPO_PROGRESS: "plain", ...options.env },
        cwd: options.cwd,
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 64 << 20,
      },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === "number" ? error.code : null) : 0, stdout, stderr });
      },
    );
  });
}
