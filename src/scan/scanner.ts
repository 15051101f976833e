import { realpath, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { ScanContext } from "./context.js";
import { FindingStore, compareCodeUnits } from "./findings.js";
import { analyze, type Analysis } from "./formats/dispatch.js";
import { BufferAccess, FileAccess, ReadBudget, type RandomAccess } from "./io/random-access.js";
import { resolveLimits } from "./limits.js";
import { OpcodeBudget } from "./pickle/machine.js";
import { quote } from "./text.js";
import type { FileReport, Finding, ScanLimits, ScanOptions, ScanReport, ScanStats, ScanSummary } from "./types.js";
import { verdictOfFindings, worstVerdict } from "./verdict.js";
import { ScanInputError, walkPaths } from "./walk.js";

/**
 * The scanner's entry points. Everything a file can do to the scanner ends as findings in that
 * file's report: no hostile input makes these throw. They reject only for the caller's own
 * mistakes (a path that does not exist: ScanInputError).
 */

interface ScannedFile {
  readonly report: FileReport;
  readonly analysis: Analysis | undefined;
}

/** Scans files and directories (recursively, following in-root symlinks). */
export async function scanPaths(paths: readonly string[], options: ScanOptions = {}): Promise<ScanReport> {
  const limits = resolveLimits(options.limits);
  const walked = await walkPaths(paths, options.followLinksInto);
  const scanned: ScannedFile[] = [];
  for (const file of walked.files) {
    scanned.push(scanRealFile(file.realPath, file.path, limits, options.stats));
    // Readers are synchronous; yield between files so timers and signals still run.
    await new Promise((resolve) => setImmediate(resolve));
  }
  const reports = checkShardIndexes(scanned);
  for (const problem of walked.problems) {
    reports.push({
      path: problem.path,
      format: problem.format,
      verdict: verdictOfFindings([problem.finding]),
      size: 0,
      findings: [problem.finding],
    });
  }
  return buildReport(reports);
}

/** Scans one file (a symlink is followed wherever it leads). */
export async function scanFile(path: string, options: ScanOptions = {}): Promise<FileReport> {
  const limits = resolveLimits(options.limits);
  let real: string;
  try {
    real = await realpath(path);
    if (!(await stat(real)).isFile()) throw new ScanInputError(path, "not a regular file");
  } catch (error) {
    if (error instanceof ScanInputError) throw error;
    throw new ScanInputError(path, (error as NodeJS.ErrnoException).code ?? String(error));
  }
  return scanRealFile(real, path, limits, options.stats).report;
}

/** Scans bytes held in memory, as if they were a file called `name`. Synchronous. */
export function scanBytes(bytes: Uint8Array, name: string, options: ScanOptions = {}): FileReport {
  return scanSource(new BufferAccess(bytes), name, resolveLimits(options.limits)).report;
}

export function buildReport(reports: readonly FileReport[]): ScanReport {
  const files = [...reports].sort((a, b) => compareCodeUnits(a.path, b.path));
  const summary: ScanSummary = {
    files: files.length,
    SAFE: files.filter((f) => f.verdict === "SAFE").length,
    WARN: files.filter((f) => f.verdict === "WARN").length,
    INVALID: files.filter((f) => f.verdict === "INVALID").length,
    MALICIOUS: files.filter((f) => f.verdict === "MALICIOUS").length,
  };
  return { reportVersion: 1, verdict: worstVerdict(files.map((f) => f.verdict)), summary, files };
}

function scanRealFile(
  realPath: string,
  displayPath: string,
  limits: ScanLimits,
  stats: ScanStats | undefined,
): ScannedFile {
  let access: FileAccess;
  const budget = new ReadBudget(limits.maxBytesRead);
  if (stats) stats.files++;
  try {
    access = FileAccess.open(realPath, budget);
  } catch (error) {
    const finding: Finding = {
      severity: "INVALID",
      code: "UNREADABLE",
      message: `cannot open: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    };
    return {
      report: { path: displayPath, format: "unknown", verdict: "INVALID", size: 0, findings: [finding] },
      analysis: undefined,
    };
  }
  try {
    return scanSource(access, displayPath, limits);
  } finally {
    access.close();
    if (stats) stats.bytesRead += budget.bytesRead;
  }
}

function scanSource(source: RandomAccess, path: string, limits: ScanLimits): ScannedFile {
  const store = new FindingStore(limits.maxFindingsPerFile);
  const ctx: ScanContext = { limits, opcodes: new OpcodeBudget(limits.maxPickleOpcodes), archiveDepth: 0 };
  let analysis: Analysis | undefined;
  try {
    analysis = analyze(source, basename(path), store.reporter(), ctx);
  } catch (error) {
    // The readers guard themselves; this is the last line for anything that slipped through.
    store.add({
      severity: "INVALID",
      code: "SCANNER_ERROR",
      message: `scan failed: ${error instanceof Error ? error.message.slice(0, 300) : String(error)}`,
    });
  }
  const findings = store.findings();
  const imports = store.imports();
  return {
    report: {
      path,
      format: analysis?.format ?? "unknown",
      verdict: verdictOfFindings(findings),
      size: source.size,
      findings,
      ...(imports.length > 0 ? { imports } : {}),
    },
    analysis,
  };
}

/**
 * A sharded checkpoint's index (model.safetensors.index.json) names, for every tensor, the shard
 * that holds it. A loader trusts that map; a shard missing, or a tensor not where the index
 * says, means a broken or tampered download.
 */
function checkShardIndexes(scanned: readonly ScannedFile[]): FileReport[] {
  const byPath = new Map(scanned.map((s) => [s.report.path, s]));
  return scanned.map(({ report, analysis }) => {
    const weightMap = analysis?.json?.weightMap;
    if (!weightMap) return report;
    const extra: Finding[] = [];
    const dir = dirname(report.path);
    const wanted = new Map<string, string[]>();
    for (const [tensor, shard] of weightMap) {
      if (shard.includes("/") || shard.includes("\\") || shard === ".." || shard === ".") {
        extra.push({
          severity: "INVALID",
          code: "INDEX_BAD_ENTRY",
          message: `shard name ${quote(shard)} is not a file beside the index`,
        });
        continue;
      }
      const list = wanted.get(shard) ?? [];
      list.push(tensor);
      wanted.set(shard, list);
    }
    for (const [shard, tensors] of [...wanted].sort(([a], [b]) => compareCodeUnits(a, b))) {
      const target = byPath.get(join(dir, shard));
      if (!target) {
        extra.push({
          severity: "INVALID",
          code: "INDEX_MISSING_SHARD",
          message: `weight_map names shard ${quote(shard)}, which is not present`,
        });
        continue;
      }
      const names = target.analysis?.safetensors?.tensorNames;
      if (!names) continue;
      const inShard = new Set(names);
      const missing = tensors.filter((t) => !inShard.has(t));
      if (missing.length > 0) {
        extra.push({
          severity: "INVALID",
          code: "INDEX_TENSOR_NOT_IN_SHARD",
          message: `${missing.length} tensors the index places in ${quote(shard)} are not in it (first: ${quote(missing[0]!)})`,
        });
      }
      const listed = new Set(tensors);
      const unlisted = names.filter((t) => !listed.has(t));
      if (unlisted.length > 0) {
        extra.push({
          severity: "WARN",
          code: "INDEX_UNLISTED_TENSOR",
          message: `${unlisted.length} tensors in ${quote(shard)} are not in the index (first: ${quote(unlisted[0]!)})`,
        });
      }
    }
    if (extra.length === 0) return report;
    const findings = [...report.findings, ...extra];
    return { ...report, findings, verdict: verdictOfFindings(findings) };
  });
}
