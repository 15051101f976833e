import { build } from "esbuild";

/**
 * Bundles a test fixture (a script a test runs in a child process, so that what it measures
 * is its own) into one ESM file, as scripts/bundle.mjs bundles the CLI.
 */
export async function bundleFixture(entry: string, outfile: string): Promise<void> {
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile,
    // undici calls require(); give the ESM bundle one, as scripts/bundle.mjs does.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    logLevel: "silent",
  });
}
