import { join } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Bundles one TypeScript entry point of the repository (e.g. "src/scan/index.ts") into the ESM
 * file `outfile` through esbuild (a devDependency), so a benchmark needs no build step.
 */
export async function bundleSource(entry, outfile) {
  const { build } = await import("esbuild");
  await build({
    entryPoints: [join(REPO, entry)],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "error",
  });
  return outfile;
}
