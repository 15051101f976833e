import type { Finding, Severity, Verdict } from "./types.js";

const RANK: Readonly<Record<Verdict, number>> = { SAFE: 0, WARN: 1, INVALID: 2, MALICIOUS: 3 };
const SEVERITY_RANK: Readonly<Record<Severity, number>> = { INFO: 0, WARN: 1, INVALID: 2, MALICIOUS: 3 };

export function verdictRank(verdict: Verdict): number {
  return RANK[verdict];
}

export function severityRank(severity: Severity): number {
  return SEVERITY_RANK[severity];
}

export function worstVerdict(verdicts: Iterable<Verdict>): Verdict {
  let worst: Verdict = "SAFE";
  for (const verdict of verdicts) if (RANK[verdict] > RANK[worst]) worst = verdict;
  return worst;
}

export function verdictOfSeverity(severity: Severity): Verdict {
  return severity === "INFO" ? "SAFE" : severity;
}

export function verdictOfFindings(findings: Iterable<Finding>): Verdict {
  let worst: Verdict = "SAFE";
  for (const finding of findings) {
    const verdict = verdictOfSeverity(finding.severity);
    if (RANK[verdict] > RANK[worst]) worst = verdict;
  }
  return worst;
}

/**
 * Exit status of `nix-model-repo scan` for the worst verdict. Gaps of ten leave room and keep
 * them apart from 1 (internal error) and 2 (usage error), so a validator can test
 * `status >= 20` for "do not use this model".
 */
export const EXIT_CODES: Readonly<Record<Verdict, number>> = { SAFE: 0, WARN: 10, INVALID: 20, MALICIOUS: 30 };

export function exitCodeForVerdict(verdict: Verdict): number {
  return EXIT_CODES[verdict];
}
