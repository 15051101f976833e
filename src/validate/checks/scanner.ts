import {
  DEFAULT_LIMITS,
  verdictRank,
  worstVerdict,
  type ScanLimits,
  type Severity,
  type Verdict,
} from "../../scan/index.js";
import type { CheckResult, ValidatorFinding } from "../types.js";
import { onlyKeys, paramError, type Check } from "./check.js";
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
  parse(params, where) {
    onlyKeys(params, ["failOn", "warnOn", "limits"], where);
    const failOn = threshold(params["failOn"] ?? "INVALID", `${where}.failOn`);
    const warnOn = params["warnOn"] === null ? null : threshold(params["warnOn"] ?? "WARN", `${where}.warnOn`);
    return { failOn, warnOn, limits: limits(params["limits"] ?? {}, `${where}.limits`) };
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

function threshold(value: unknown, where: string): Exclude<Verdict, "SAFE"> {
  if (typeof value !== "string" || !(THRESHOLDS as readonly string[]).includes(value)) {
    throw paramError(where, `must be one of "WARN", "INVALID", "MALICIOUS", got ${JSON.stringify(value)}`);
  }
  return value as Exclude<Verdict, "SAFE">;
}

function limits(value: unknown, where: string): Partial<ScanLimits> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw paramError(where, "must be an object");
  const out: Record<string, number> = {};
  for (const [key, limit] of Object.entries(value)) {
    if (!(key in DEFAULT_LIMITS))
      throw paramError(where, `has unknown limit ${key} (known: ${Object.keys(DEFAULT_LIMITS).join(", ")})`);
    if (typeof limit !== "number" || !Number.isSafeInteger(limit) || limit <= 0)
      throw paramError(`${where}.${key}`, "must be a positive integer");
    out[key] = limit;
  }
  return out as Partial<ScanLimits>;
}
