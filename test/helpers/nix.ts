import { execFile, execFileSync } from "node:child_process";
import { chmod, mkdtemp, readdir, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Real Nix for the e2e tests: nix-build with no substituters (nothing may come from a
 * cache), the stand-in pkgs of test/nix/pkgs.nix and the fetcher bundled from this
 * checkout. Builds run as the nixbld users, so everything a build reads must be
 * world-readable: `nixReadableTempDir` makes such a directory.
 */
export const repoRoot = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");

export const nixAvailable = (() => {
  try {
    execFileSync("nix-build", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

/** The `let ... in` prelude that gives an expression `pkgs` and `nmr` (the library). */
export const libPrelude = `let
  pkgs = import ${repoRoot}/test/nix/pkgs.nix { };
  nmr = import ${repoRoot}/lib { inherit pkgs; fetcher = pkgs.nix-model-repo-dev; };
in`;

export interface NixBuildResult {
  readonly ok: boolean;
  readonly code: number | null;
  readonly outPath: string | undefined;
  readonly stdout: string;
  readonly stderr: string;
  /** The .drv path, when instantiation got that far. */
  readonly drvPath: string | undefined;
}

export interface NixBuildOptions {
  /** Extra environment for nix-build (impureEnvVars are read from it). */
  readonly env?: NodeJS.ProcessEnv;
  /** Rebuild even if the output exists and compare (`--check`). */
  readonly check?: boolean;
  readonly timeoutMs?: number;
}

/** nix-build of an expression (written to a file so the command line holds no config). */
export async function nixBuild(expression: string, options: NixBuildOptions = {}): Promise<NixBuildResult> {
  const dir = await nixReadableTempDir("nmr-expr-");
  const file = join(dir, "default.nix");
  await writeFile(file, expression);
  const drvPath = await instantiate(file, options.env);
  const args = ["--no-out-link", "--option", "substituters", "", ...(options.check ? ["--check"] : []), file];
  const result = await run("nix-build", args, options);
  return { ...result, drvPath, outPath: result.ok ? result.stdout.trim().split("\n").pop() : undefined };
}

/** nix-instantiate --eval --strict --json of an expression: the value, or the error text. */
export async function nixEval(
  expression: string,
  env?: NodeJS.ProcessEnv,
): Promise<{ ok: boolean; value: unknown; stderr: string }> {
  const dir = await nixReadableTempDir("nmr-eval-");
  const file = join(dir, "default.nix");
  await writeFile(file, expression);
  const result = await run("nix-instantiate", ["--eval", "--strict", "--json", file], { env });
  return { ok: result.ok, value: result.ok ? JSON.parse(result.stdout) : undefined, stderr: result.stderr };
}

async function instantiate(file: string, env?: NodeJS.ProcessEnv): Promise<string | undefined> {
  const result = await run("nix-instantiate", [file], { env });
  return result.ok ? result.stdout.trim() : undefined;
}

export async function nixReadableTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o755);
  return dir;
}

function run(
  command: string,
  args: string[],
  options: NixBuildOptions,
): Promise<Omit<NixBuildResult, "outPath" | "drvPath">> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { env: { ...process.env, ...options.env }, timeout: options.timeoutMs ?? 300_000, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
        resolve({ ok: !error, code, stdout, stderr });
      },
    );
  });
}

/** A hash that is valid SRI but matches nothing: a build with it fails and reports the real one. */
/**
 * Nix's stderr without the lines Nix prints while it waits for its own database
 * ("warning: error: SQLite database '…/db.sqlite' is busy"): Nix retries them itself, so
 * they say nothing about the build, but they contain "error:". Builds running in
 * parallel (vitest's workers, another checkout's tests) cause them.
 */
export function nixStderrWithoutBusyRetries(stderr: string): string {
  return stderr
    .split("\n")
    .filter((line) => !/^warning: error: SQLite database '[^']*' is busy/.test(line))
    .join("\n");
}

export const FAKE_HASH = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

/** Any well-formed SRI sha256, for evaluation tests where nothing is built. */
export const SOME_HASH = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

/** The hash Nix reports after "got:" when a fixed-output build's hash does not match. */
export function reportedHash(result: NixBuildResult): string | undefined {
  return /got:\s+(sha256-[A-Za-z0-9+/]{43}=)/.exec(result.stderr)?.[1];
}

/** The error text of evaluating `fetchModel { <args> }`, asserting that it fails. */
export async function fetchModelEvalError(args: string): Promise<string> {
  const result = await nixEval(`${libPrelude} (nmr.fetchModel { ${args} }).drvPath`);
  if (result.ok) throw new Error(`fetchModel { ${args} } evaluated, but was expected to fail`);
  return result.stderr;
}

/** A Hub cache (HF_HUB_CACHE) holding one built model as models--org--name. */
export async function hubCacheWith(outPath: string, repoId: string): Promise<string> {
  const cache = await mkdtemp(join(tmpdir(), "nmr-hub-cache-"));
  await symlink(outPath, join(cache, `models--${repoId.replace("/", "--")}`));
  return cache;
}

/** Absolute paths of every regular file under `root` (to search an output for a secret). */
export async function regularFilesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}
