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
export async function addFixedRecursive(directory: string): Promise<string> {
  try {
    const { stdout } = await run("nix-store", ["--add-fixed", "--recursive", "sha256", directory], {
      maxBuffer: 1 << 20,
    });
    return stdout.trim();
  } catch (error) {
    throw new UserError({
      what: "Could not add the fetched model to the Nix store",
      cause: (error as { stderr?: string }).stderr?.trim() || (error as Error).message,
      fix: [
        "The hash printed above is still right; the first build will download the model itself.",
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
