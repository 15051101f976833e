import { execFile, execFileSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
  options: {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    timeoutMs?: number;
    nodeArgs?: readonly string[];
    /** The node binary; this process's unless given. */
    node?: string;
  } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      options.node ?? process.execPath,
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

/**
 * A fetch spec written into `dir` (made here), and the command line that runs
 * `nix-model-repo fetch` on it with its output in `<dir>/out`: for runCli, or
 * runCliMeasured (peak-rss.ts). `specVersion` is filled in.
 */
export async function fetchCommand(
  dir: string,
  spec: Readonly<Record<string, unknown>>,
): Promise<{ readonly args: string[]; readonly out: string }> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, "spec.json");
  await writeFile(file, JSON.stringify({ specVersion: 1, ...spec }));
  const out = join(dir, "out");
  return { args: ["fetch", "--spec", file, "--out", out], out };
}

/** Whether tmpfs can be mounted in a private mount namespace (unshare -rm), for disks of a chosen size. */
export function canMountTmpfs(): boolean {
  try {
    execFileSync("unshare", ["-rm", "sh", "-c", `mount -t tmpfs -o size=64k tmpfs "${tmpdir()}"`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
