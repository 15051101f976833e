/**
 * The validation phase (docs/validation.md): `nix-model-repo validate` runs the
 * validators fetchModel's `validation` option configures on a raw output, and writes the
 * validated output — symlinks into the raw one plus a meta file with the report.
 */
export type {
  CheckName,
  CheckResult,
  OnFailure,
  Outcome,
  Status,
  ValidationConfig,
  ValidationReport,
  ValidatorConfig,
  ValidatorFinding,
  ValidatorReport,
} from "./types.js";
export { CONFIG_VERSION, REPORT_VERSION } from "./types.js";
export { parseValidationConfig, readValidationConfig } from "./config.js";
export { openModelView, modelSize, type ModelView, type ViewFile } from "./view.js";
export { runCheck, CHECK_NAMES } from "./checks/index.js";
export { runValidation, type RunValidationOptions, type ValidationRun } from "./run.js";
export { runCheckInChild } from "./run-builtin.js";
export { writeValidatedOutput } from "./output.js";
export { validationFailedError } from "./failure.js";
