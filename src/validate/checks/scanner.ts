import {
  DEFAULT_LIMITS,
  verdictRank,
  worstVerdict,
  type ScanLimits,
  type Severity,
  type Verdict,
} from "../../scan/index.js";
import type { CheckResult, ValidatorFinding } from "../types.js";
import type { FieldReader } from "../../spec/fields.js";
import type { Check } from "./check.js";
import { scanView } from "./scan-view.js";

/**
 * The model scanner (docs/scan.md) as a validator. Every file gets a verdict,
 * SAFE < WARN < INVALID < MALICIOUS; the check fails when a file's verdict reaches
 * `failOn` and warns when it reaches `warnOn` (null: never warns).
 */
export interface ScannerParams {
  readonly failOn: Exclude<Verdict, "SAFE">;
  readonly warnOn: Exclude<Verdict, "SAFE"> | null;
  readonly limits: Partial<ScanLimits>;
}

const THRESHOLDS = ["WARN", "INVALID", "MALICIOUS"] as const;

export const scannerCheck: Check<ScannerParams> = {
  parse(params) {
    return {
      failOn: params.choice("failOn", THRESHOLDS, "INVALID"),
      // null: never warn; absent: warn from WARN on.
      warnOn: params.nullableChoice("warnOn", THRESHOLDS, "WARN"),
      limits: limits(params),
    };
  },

  async run(view, params) {
    const scanned = await scanView(view, { limits: params.limits });
    const reportFrom = Math.min(
      verdictRank(params.failOn),
      params.warnOn === null ? Infinity : verdictRank(params.warnOn),
    );
    const findings: ValidatorFinding[] = [];
    for (const { file, report } of scanned) {
      if (verdictRank(report.verdict) < reportFrom) continue;
      for (const finding of report.findings) {
        if (severityRank(finding.severity) < reportFrom) continue;
        const where = finding.member === undefined ? "" : ` in ${finding.member}`;
        findings.push({ file, reason: `${finding.severity} ${finding.code}${where}: ${finding.message}` });
      }
    }
    const verdict = worstVerdict(scanned.map((s) => s.report.verdict));
    const count = (v: Verdict) => scanned.filter((s) => s.report.verdict === v).length;
    const outcome: CheckResult["outcome"] =
      verdictRank(verdict) >= verdictRank(params.failOn)
        ? "fail"
        : params.warnOn !== null && verdictRank(verdict) >= verdictRank(params.warnOn)
          ? "warn"
          : "pass";
    return {
      outcome,
      findings,
      details: {
        failOn: params.failOn,
        warnOn: params.warnOn,
        verdict,
        summary: {
          files: scanned.length,
          SAFE: count("SAFE"),
          WARN: count("WARN"),
          INVALID: count("INVALID"),
          MALICIOUS: count("MALICIOUS"),
        },
      },
    };
  },
};

function severityRank(severity: Severity): number {
  return severity === "INFO" ? 0 : verdictRank(severity);
}

/** The scanner's limits: a map whose keys must be known limits (src/scan/limits.ts). */
function limits(params: FieldReader): Partial<ScanLimits> {
  const given = params.record("limits");
  const out: Record<string, number> = {};
  for (const [key, limit] of Object.entries(given)) {
    if (!(key in DEFAULT_LIMITS))
      throw params.refuse(
        "limits",
        `has unknown limit ${key} (known: ${Object.keys(DEFAULT_LIMITS).join(", ")})`,
        given,
      );
    if (typeof limit !== "number" || !Number.isSafeInteger(limit) || limit <= 0)
      throw params.refuse(`limits.${key}`, "must be a positive integer", limit);
    out[key] = limit;
  }
  return out as Partial<ScanLimits>;
}
