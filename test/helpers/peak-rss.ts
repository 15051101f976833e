/**
 * The bundled CLI run with its peak memory measured: a preload script writes the process's
 * peak resident set when it exits, so the figure is the whole run's peak (a process that dies
 * out of heap writes nothing, and the measurement fails). The peak is Linux's VmHWM, which
 * starts afresh at exec; getrusage's maxRSS would not do: it carries over exec, so a child
 * forked from a large test runner reports the runner's size.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CliResult, runCli } from "./cli.js";

const PRELOAD = `import { readFileSync, writeFileSync } from "node:fs";
process.on("exit", () => {
  const file = process.env.NMR_PEAK_RSS_FILE;
  const peak = /^VmHWM:\\s+(\\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
  if (file && peak) writeFileSync(file, peak);
});
`;

export interface MeasuredRun extends CliResult {
  /** Peak resident set of the CLI process, in bytes. */
  readonly peakRss: number;
}

export async function runCliMeasured(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<MeasuredRun> {
  const dir = await mkdtemp(join(tmpdir(), "nmr-peak-rss-"));
  try {
    const preload = join(dir, "peak-rss.mjs");
    const report = join(dir, "peak-rss.txt");
    await writeFile(preload, PRELOAD);
    const result = await runCli(args, { env: { ...env, NMR_PEAK_RSS_FILE: report }, nodeArgs: ["--import", preload] });
    const kib = Number(await readFile(report, "utf8").catch(() => "NaN"));
    return { ...result, peakRss: kib * 1024 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
