#!/usr/bin/env node
// Regenerates the committed example Hub cache (examples/hub/models--acme--tiny) from
// scripts/example-hub.ts. Node 20 cannot run TypeScript, so the module is bundled with
// esbuild (a dev dependency) into a temporary file first.
//
//   node scripts/make-example-hub.mjs [OUT_DIR]     (default: examples/hub)
import { build } from "esbuild";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const outDir = resolve(process.argv[2] ?? new URL("../examples/hub", import.meta.url).pathname);
const scratch = await mkdtemp(join(tmpdir(), "make-example-hub-"));
try {
  const bundled = join(scratch, "example-hub.mjs");
  await build({
    entryPoints: [new URL("./example-hub.ts", import.meta.url).pathname],
    outfile: bundled,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "warning",
  });
  const { writeExampleHub } = await import(pathToFileURL(bundled).href);
  const { commit, folder, files } = await writeExampleHub(outDir);
  process.stdout.write(`wrote ${folder} at commit ${commit}\n`);
  for (const file of files) {
    process.stdout.write(`  ${file.lfs ? "lfs " : "git "} ${String(file.size).padStart(6)}  ${file.path}\n`);
  }
} finally {
  await rm(scratch, { recursive: true, force: true });
}
