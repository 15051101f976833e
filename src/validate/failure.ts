import { UserError } from "../errors/user-error.js";
import { MAX_FINDINGS_IN_ERROR, findingLines } from "./messages.js";
import type { ValidationConfig, ValidatorConfig, ValidatorFinding } from "./types.js";

/**
 * The error that fails the build when a validator with onFailure = "abort" fails: the
 * findings, then what to do — not use the model, or, for a model the user trusts,
 * the exact option that relaxes this check for this model only.
 */
export function validationFailedError(
  config: ValidationConfig,
  validator: ValidatorConfig,
  findings: readonly ValidatorFinding[],
  timedOut: boolean,
): UserError {
  // The error format indents the cause's later lines itself.
  const shown = findingLines(findings, "", MAX_FINDINGS_IN_ERROR).join("\n");
  const more = findings.length > MAX_FINDINGS_IN_ERROR ? "\n(every finding is listed in the build log above)" : "";
  return new UserError({
    what: `Validation of model "${config.name}" failed: validator ${validator.name} refused it`,
    context: {
      model: config.name,
      validator: validator.name,
      check: validator.kind === "builtin" ? validator.check : "shell command",
      preset: config.preset ?? undefined,
    },
    cause: `${findings.length === 1 ? "1 finding" : `${findings.length} findings`}:\n${shown}${more}`,
    fix: [
      timedOut
        ? timeoutHint(validator)
        : "if you do not trust this model, do not use it (the download stays in the store as passthru.raw until garbage-collected; nothing loads it)",
      `if you trust this model, relax the check in its fetchModel call (only this model is affected):\n${relaxHints(config, validator).join("\n")}`,
    ],
  });
}

function timeoutHint(validator: ValidatorConfig): string {
  const longer = Math.ceil(validator.timeout * 4);
  const how =
    validator.timeoutFrom === "global"
      ? `validation.timeout = ${longer};`
      : `timeout = ${longer}; on ${validator.expr ?? `the validator named "${validator.name}"`}`;
  return `the check did not finish in ${validator.timeout} s: give it longer in the model's fetchModel call: ${how}`;
}

function relaxHints(config: ValidationConfig, validator: ValidatorConfig): string[] {
  const hints: string[] = [];
  if (validator.origin === "defaults.scanner") {
    const failOn = validator.kind === "builtin" ? validator.params["failOn"] : undefined;
    if (failOn !== "MALICIOUS")
      hints.push(`validation.defaults.scanner = { failOn = "MALICIOUS"; };  # refuse only content known to run code`);
    hints.push(`validation.defaults.scanner = false;  # do not run the scanner for this model`);
  } else if (validator.origin === "defaults.modelscan") {
    hints.push(`validation.defaults.modelscan = false;  # do not run modelscan for this model`);
  } else {
    const named = validator.expr ?? `the validator named "${validator.name}"`;
    hints.push(`# leave ${named} out of validation.validators`);
    hints.push(
      validator.expr !== null
        ? `# or keep it, as a warning: (${validator.expr} // { onFailure = "warn"; })`
        : `# or keep it, as a warning: give it onFailure = "warn";`,
    );
  }
  if (validator.onFailureFrom === "global")
    hints.push(`validation.onFailure = "warn";  # report every failing check as a warning instead`);
  if (config.preset === "strict" || config.preset === "paranoid")
    hints.push(`validation = lib.validation.presets.standard;  # a less strict preset`);
  return hints;
}
