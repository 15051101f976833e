/**
 * nix-model-repo's model scanner: the API the `scan` command and the validators use.
 *
 *   const report = await scanPaths(["/nix/store/…-model-raw"]);
 *   if (verdictRank(report.verdict) >= verdictRank("INVALID")) …
 *
 * docs/scan.md describes the checks, the verdict policy and the JSON report.
 */
export type {
  FileReport,
  Finding,
  ScanLimits,
  ScanOptions,
  ScanReport,
  ScanStats,
  ScanSummary,
  Severity,
  Verdict,
} from "./types.js";
export { scanBytes, scanFile, scanPaths } from "./scanner.js";
export { ScanInputError } from "./walk.js";
export { EXIT_CODES, exitCodeForVerdict, verdictRank, worstVerdict } from "./verdict.js";
export { DEFAULT_LIMITS } from "./limits.js";
export { renderReportJson, renderReportText } from "./report.js";
