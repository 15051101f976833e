import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { UserError } from "../errors/user-error.js";

const run = promisify(execFile);

/**
 * The few Nix commands `prefetch` needs, through the stable `nix-store` interface
 * (no experimental features, works from Nix 2.8 on).
 */
export async function nixStoreAvailable(): Promise<boolean> {
  try {
    await run("nix-store", ["--version"]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Adds a directory as a recursive sha256 fixed-output path. The store path depends only
 * on the directory's base name and content hash, so naming the directory after the
 * FOD (`<name>-raw`) makes the later build a store hit.
 */
export function addFixedRecursive(directory: string): Promise<string> {
  return addFixed(
    directory,
    "recursive",
    "The hash printed above is still right; the first build will download the model itself.",
  );
}

/**
 * Adds a file (flat: the file's own sha256) or a directory (recursive: its NAR's sha256)
 * as a fixed-output path named after its base name; returns the store path.
 */
export async function addFixed(path: string, mode: "flat" | "recursive", consequence?: string): Promise<string> {
  try {
    const { stdout } = await run(
      "nix-store",
      ["--add-fixed", ...(mode === "recursive" ? ["--recursive"] : []), "sha256", path],
      {
        maxBuffer: 1 << 20,
      },
    );
    return stdout.trim();
  } catch (error) {
    throw new UserError({
      what: `Could not add ${path} to the Nix store`,
      cause: (error as { stderr?: string }).stderr?.trim() || (error as Error).message,
      fix: [
        ...(consequence === undefined ? [] : [consequence]),
        "Check that you may write to the store (a trusted user, or single-user Nix).",
      ],
    });
  }
}

/** The store path a recursive sha256 FOD with this name and hash (Nix base-32) gets. */
export async function fixedOutputPath(nix32Hash: string, name: string): Promise<string> {
  const { stdout } = await run("nix-store", ["--print-fixed-path", "--recursive", "sha256", nix32Hash, name]);
  return stdout.trim();
}

/** Paths per nix-store call: far below any argv limit. */
const VALIDITY_BATCH = 500;

/** Which of `paths` are valid store paths (nix-store --check-validity --print-invalid), in batches. */
export async function validStorePaths(paths: readonly string[]): Promise<Set<string>> {
  const valid = new Set<string>();
  for (let start = 0; start < paths.length; start += VALIDITY_BATCH) {
    const batch = paths.slice(start, start + VALIDITY_BATCH);
    const { stdout } = await run("nix-store", ["--check-validity", "--print-invalid", ...batch], {
      maxBuffer: 16 << 20,
    });
    const invalid = new Set(stdout.split("\n").filter(Boolean));
    for (const path of batch) if (!invalid.has(path)) valid.add(path);
  }
  return valid;
}
