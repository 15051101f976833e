import type { ValidatorFinding, ValidatorConfig, ValidatorReport } from "./types.js";

/** Lines for the build log. Every finding is listed there, up to a generous cap. */
const MAX_LOGGED_FINDINGS = 500;
/** Findings the error that stops a build shows itself. */
export const MAX_FINDINGS_IN_ERROR = 10;

export function describeValidator(validator: ValidatorConfig): string {
  const what =
    validator.description !== ""
      ? validator.description
      : validator.kind === "builtin"
        ? `built-in check ${validator.check}`
        : "shell validator";
  return `validator ${validator.name}: ${what}`;
}

function findingLine(finding: ValidatorFinding): string {
  return finding.file === null ? finding.reason : `${finding.file}: ${finding.reason}`;
}

export function findingLines(
  findings: readonly ValidatorFinding[],
  indent: string,
  max = MAX_LOGGED_FINDINGS,
): string[] {
  const lines = findings.slice(0, max).map((finding) => `${indent}${findingLine(finding)}`);
  if (findings.length > max) lines.push(`${indent}… and ${findings.length - max} more`);
  return lines;
}

/**
 * What the log says after a validator ran. A skipped failure says nothing: `skip` is
 * for checks whose result the user has decided not to hear about (it is in the report).
 */
export function resultLines(report: ValidatorReport, allFindings: readonly ValidatorFinding[]): string[] {
  const count = allFindings.length === 1 ? "1 finding" : `${allFindings.length} findings`;
  switch (report.status) {
    case "passed":
      return [`validator ${report.name}: passed`];
    case "skipped":
      return [];
    case "warned":
      return [
        `warning: validator ${report.name} ${report.outcome === "fail" ? `failed (onFailure = "${report.onFailure}", the build goes on)` : "warns"}: ${count}`,
        ...findingLines(allFindings, "    "),
      ];
    case "failed":
      // The error that ends the build lists the first findings; the log holds the rest.
      return allFindings.length > MAX_FINDINGS_IN_ERROR
        ? [`error: validator ${report.name} failed: ${count}`, ...findingLines(allFindings, "    ")]
        : [`error: validator ${report.name} failed: ${count} (below)`];
  }
}
