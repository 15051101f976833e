/**
 * Case "modules": benchmarks other parts of the project contribute, e.g. the scanner's
 * bench/scan.mjs. Every top-level bench/*.mjs except run.mjs is one; this is the hook.
 *
 * Contract for such a module:
 *
 *     export const title = "scanner";                 // optional
 *     export async function bench(context) { ... }    // or the default export, or the
 *                                                     // first exported bench* function
 *
 * context: { cli (path of the bundled CLI), scratch (a fresh temp dir, removed afterwards),
 * runs (BENCH_RUNS), tmp, progress(message) }. It returns
 * - a string (printed as is),
 * - { header: string[], rows: unknown[][], notes?: string[] } (printed as a table),
 * - [{ name, value, unit, detail?, peer?: { name, value, unit, ratio } }] — the shape of
 *   bench/scan.mjs's benchScan(); ratio > 1 means ours is faster — printed as a table,
 * - or nothing if it printed its own results.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { join } from "node:path";
import { formatTable } from "../lib/table.mjs";

const BENCH_DIR = fileURLToPath(new URL("..", import.meta.url));

export async function findBenchModules() {
  const names = (await readdir(BENCH_DIR)).filter((name) => name.endsWith(".mjs") && name !== "run.mjs").sort();
  return names.map((name) => join(BENCH_DIR, name));
}

function figure(value) {
  return typeof value === "number"
    ? Math.abs(value) >= 100
      ? value.toFixed(0)
      : value.toFixed(1)
    : String(value ?? "");
}

function render(result) {
  if (result === undefined || result === null) return "(the module printed its own results)";
  if (typeof result === "string") return result;
  if (Array.isArray(result) && result.every((row) => row && typeof row.name === "string" && "value" in row)) {
    const rows = result.map((row) => [
      row.name,
      `${figure(row.value)} ${row.unit ?? ""}`.trim(),
      row.peer ? row.peer.name : "",
      row.peer ? `${figure(row.peer.value)} ${row.peer.unit ?? ""}`.trim() : "",
      row.peer ? `${Number(row.peer.ratio).toFixed(2)}×` : "",
    ]);
    const notes = result.filter((row) => row.detail).map((row) => `  note: ${row.name}: ${row.detail}`);
    return [formatTable(["measure", "ours", "peer", "peer figure", "ratio"], rows), ...notes].join("\n");
  }
  if (Array.isArray(result?.header) && Array.isArray(result?.rows)) {
    return [formatTable(result.header, result.rows), ...(result.notes ?? []).map((note) => `  note: ${note}`)].join(
      "\n",
    );
  }
  return JSON.stringify(result, null, 2);
}

/** Runs one module; returns { title, text }. */
export async function runBenchModule(path, context) {
  const module = await import(pathToFileURL(path).href);
  const bench =
    [module.bench, module.default].find((candidate) => typeof candidate === "function") ??
    Object.entries(module).find(
      ([exported, value]) => exported.startsWith("bench") && typeof value === "function",
    )?.[1];
  const name = path.slice(BENCH_DIR.length);
  if (typeof bench !== "function")
    return { title: `bench/${name}`, text: `skipped: ${name} exports no bench function` };
  // Inside the bench's own temp dir, so it goes whatever happens.
  const scratch = await mkdtemp(join(context.scratch, "module-"));
  try {
    const result = await bench({
      cli: context.cli,
      scratch,
      runs: context.config.runs,
      tmp: context.config.tmp,
      progress: context.progress,
    });
    return { title: module.title ?? `bench/${name}`, text: render(result) };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
