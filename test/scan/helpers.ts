import { readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Verdict } from "../../src/scan/index.js";

export const CORPUS_DIR = fileURLToPath(new URL("./corpus/", import.meta.url));
const REPO = fileURLToPath(new URL("../../", import.meta.url));

export interface CorpusCase {
  readonly id: string;
  readonly file: string;
  readonly expect: Verdict;
  /** Finding codes the report must contain. */
  readonly codes: readonly string[];
  readonly description: string;
}

export function loadCorpus(): CorpusCase[] {
  const manifest = JSON.parse(readFileSync(join(CORPUS_DIR, "manifest.json"), "utf8")) as { cases: CorpusCase[] };
  return manifest.cases;
}

/**
 * Bundles a TypeScript entry point into one ESM file, for code that must run outside vitest's
 * transform: worker threads with heap limits, and the CLI as a real child process.
 */
export async function bundle(entry: string, name: string): Promise<string> {
  const { build } = await import("esbuild");
  const dir = await mkdtemp(join(tmpdir(), "nmr-scan-bundle-"));
  const outfile = join(dir, name);
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

/** A small deterministic PRNG (mulberry32), so fuzz cases are the same on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
