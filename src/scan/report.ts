import type { FileReport, Finding, ScanReport } from "./types.js";

/**
 * Renderings of a ScanReport. The JSON form is the documented, versioned format (docs/scan.md):
 * keys in a fixed order, no timestamps, no absolute paths beyond what the caller passed in.
 */

export function renderReportJson(report: ScanReport): string {
  return `${JSON.stringify(
    {
      reportVersion: report.reportVersion,
      verdict: report.verdict,
      summary: report.summary,
      files: report.files.map(fileJson),
    },
    null,
    2,
  )}\n`;
}

function fileJson(file: FileReport): Record<string, unknown> {
  return {
    path: file.path,
    format: file.format,
    verdict: file.verdict,
    size: file.size,
    findings: file.findings.map(findingJson),
    ...(file.imports ? { imports: file.imports } : {}),
  };
}

function findingJson(finding: Finding): Record<string, unknown> {
  return {
    severity: finding.severity,
    code: finding.code,
    message: finding.message,
    ...(finding.member === undefined ? {} : { member: finding.member }),
    ...(finding.offset === undefined ? {} : { offset: finding.offset }),
  };
}

/**
 * For people: one line per file (verdict, format, path), its findings indented below. Paths
 * come from the file system and may hold control characters: they are escaped.
 */
export function renderReportText(report: ScanReport, { showSafe = true }: { showSafe?: boolean } = {}): string {
  const lines: string[] = [];
  const formatWidth = Math.max(6, ...report.files.map((f) => f.format.length));
  for (const file of report.files) {
    if (!showSafe && file.verdict === "SAFE" && file.findings.every((f) => f.severity === "INFO")) continue;
    lines.push(`${file.verdict.padEnd(9)} ${file.format.padEnd(formatWidth)} ${printable(file.path)}`);
    for (const finding of file.findings) {
      const where = [
        finding.member === undefined ? "" : `in ${printable(finding.member)}`,
        finding.offset === undefined ? "" : `@${finding.offset}`,
      ]
        .filter(Boolean)
        .join(" ");
      lines.push(`    ${finding.severity.padEnd(9)} ${finding.code}${where ? ` (${where})` : ""}: ${finding.message}`);
    }
  }
  const s = report.summary;
  lines.push(
    `${s.files} file${s.files === 1 ? "" : "s"}: ${s.SAFE} safe, ${s.WARN} warn, ${s.INVALID} invalid, ${s.MALICIOUS} malicious — verdict ${report.verdict}`,
  );
  return `${lines.join("\n")}\n`;
}

function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f-\u009f\u2028-\u202e\u2066-\u2069]/.test(text) ? JSON.stringify(text) : text;
}
