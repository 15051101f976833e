/**
 * Runs our tool and its peers on the same work, N times each, interleaved (ours, peer A,
 * peer B, ours, ...) so that load from other processes on the machine spreads over all of
 * them instead of hitting one tool's runs. Reports medians, the CPU time each tool used
 * (user + system, all threads and waited-for children; per GiB when the work has a size)
 * and
 *   time ratio = peer median wall / our median wall   (> 1: we are faster)
 *   mem ratio  = peer median peak RSS / ours          (> 1: we use less memory)
 *
 * A tool is { name, ours?, floor? (a reference, no ratio), skip?, note?, prepare(run) → command, verify?(result, run) →
 * error text | undefined, cleanup?(run) }. Counters ({ count() → number }) are read before
 * and after each run to attribute server-side requests to it.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { measure, median } from "./measure.mjs";
import { formatTable, fixed, GiB, MiB } from "./table.mjs";

export async function compareTools({ tools, runs, scratch, counters = [], hub }) {
  const results = new Map(
    tools.map((tool) => [tool, { runs: [], failure: tool.skip ? `skipped: ${tool.skip}` : undefined }]),
  );
  for (let run = 0; run < runs; run++) {
    for (const tool of tools) {
      const state = results.get(tool);
      if (state.failure) continue;
      const command = await tool.prepare(run);
      const before = await Promise.all(counters.map((counter) => counter.count()));
      const firstRequestIndex = hub ? hub.requests.length : 0;
      const result = await measure(command, scratch);
      await sleep(30); // the servers log a request as it is answered; let the last lines arrive
      const after = await Promise.all(counters.map((counter) => counter.count()));
      result.requests = counters.length
        ? after.reduce((sum, value, index) => sum + value - before[index], 0)
        : undefined;
      if (hub) {
        const firstFile = hub.requests.slice(firstRequestIndex).find((request) => request.path.includes("/resolve/"));
        result.firstFileRequestMs = firstFile ? firstFile.at - result.startedAt : undefined;
      }
      const problem =
        result.code !== 0
          ? `exit ${result.code}: ${result.stderrTail.split("\n").slice(-3).join(" | ")}`
          : await tool.verify?.(result, run);
      await tool.cleanup?.(run);
      if (problem) state.failure = `failed: ${problem}`;
      else state.runs.push(result);
    }
  }
  return tools.map((tool) => summarize(tool, results.get(tool)));
}

function summarize(tool, { runs, failure }) {
  if (failure || runs.length === 0) return { tool, failure: failure ?? "no runs" };
  const pick = (key) => runs.map((run) => run[key]).filter((value) => value !== undefined);
  const times = pick("ms");
  const requests = pick("requests");
  const firstFile = pick("firstFileRequestMs");
  const cpu = pick("cpuSeconds");
  return {
    tool,
    runs: runs.length,
    ms: median(times),
    minMs: Math.min(...times),
    maxMs: Math.max(...times),
    rssKiB: median(pick("rssKiB")),
    cpuSeconds: cpu.length ? median(cpu) : undefined,
    requests: requests.length ? median(requests) : undefined,
    firstFileRequestMs: firstFile.length ? median(firstFile) : undefined,
    stdout: runs.at(-1).stdout,
  };
}

/**
 * work: { bytes?, files? } — what one run moves, for MiB/s and files/s columns.
 * columns: extra [{ header, value(summary) }].
 */
export function comparisonTable(summaries, work = {}, columns = []) {
  const ours = summaries.find((summary) => summary.tool.ours && !summary.failure);
  const header = ["tool", "median s", "min–max s", "CPU s"];
  if (work.bytes) header.push("CPU s/GiB");
  if (work.bytes) header.push("MiB/s");
  if (work.files) header.push("files/s");
  header.push("peak RSS MiB", ...columns.map((column) => column.header), "time ratio", "mem ratio");
  const rows = [];
  const notes = [];
  for (const summary of summaries) {
    if (summary.failure) {
      notes.push(`${summary.tool.name}: ${summary.failure}`);
      continue;
    }
    const row = [
      summary.tool.name,
      fixed(summary.ms / 1000, 3),
      `${fixed(summary.minMs / 1000)}–${fixed(summary.maxMs / 1000)}`,
      summary.cpuSeconds === undefined ? "-" : fixed(summary.cpuSeconds, 2),
    ];
    if (work.bytes)
      row.push(summary.cpuSeconds === undefined ? "-" : fixed(summary.cpuSeconds / (work.bytes / GiB), 2));
    if (work.bytes) row.push(fixed(work.bytes / MiB / (summary.ms / 1000), 1));
    if (work.files) row.push(fixed(work.files / (summary.ms / 1000), 0));
    row.push(fixed(summary.rssKiB / 1024, 1), ...columns.map((column) => column.value(summary) ?? "-"));
    if (!ours || summary.tool.floor) row.push("-", "-");
    else if (summary === ours) row.push("(ours)", "(ours)");
    else row.push(`${fixed(summary.ms / ours.ms)}×`, `${fixed(summary.rssKiB / ours.rssKiB)}×`);
    rows.push(row);
    if (summary.tool.note) notes.push(`${summary.tool.name}: ${summary.tool.note}`);
  }
  return [formatTable(header, rows), ...notes.map((note) => `  note: ${note}`)].join("\n");
}
