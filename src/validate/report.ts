import {
  REPORT_VERSION,
  type CheckResult,
  type OnFailure,
  type Status,
  type ValidationReport,
  type ValidatorConfig,
  type ValidatorReport,
} from "./types.js";

/** Findings kept per validator in the report; the log has them all. */
const MAX_REPORTED_FINDINGS = 100;

/** What a check's outcome means for the build, given the validator's onFailure. */
function statusOf(outcome: CheckResult["outcome"], onFailure: OnFailure): Status {
  if (outcome === "pass") return "passed";
  if (onFailure === "skip") return "skipped";
  if (outcome === "warn") return "warned";
  return onFailure === "abort" ? "failed" : "warned";
}

export function validatorReport(validator: ValidatorConfig, result: CheckResult): ValidatorReport {
  const omitted = Math.max(0, result.findings.length - MAX_REPORTED_FINDINGS);
  return {
    name: validator.name,
    check: validator.kind === "builtin" ? validator.check : "command",
    onFailure: validator.onFailure,
    outcome: result.outcome,
    status: statusOf(result.outcome, validator.onFailure),
    findings: result.findings.slice(0, MAX_REPORTED_FINDINGS),
    ...(omitted > 0 ? { findingsOmitted: omitted } : {}),
    ...(result.details !== undefined ? { details: result.details } : {}),
  };
}

export function validationReport(preset: string | null, validators: readonly ValidatorReport[]): ValidationReport {
  const result = validators.some((v) => v.status === "failed")
    ? "failed"
    : validators.some((v) => v.status === "warned")
      ? "warned"
      : "passed";
  return { reportVersion: REPORT_VERSION, preset, result, validators };
}
