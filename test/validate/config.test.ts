/**
 * The validation config is read with the fetch spec's field reader (src/spec/fields.ts):
 * the same rules, the same messages, unknown fields refused, and exit status 2 (a config
 * only the Nix library writes is a usage error of `nix-model-repo validate`).
 */
import { describe, expect, it } from "vitest";
import { explainFailure } from "../../src/errors/explain.js";
import { SpecFailure } from "../../src/errors/failures.js";
import type { UserError } from "../../src/errors/user-error.js";
import { parseValidationConfig } from "../../src/validate/index.js";

const validator = {
  name: "scanner",
  description: "",
  onFailure: "abort",
  onFailureFrom: "global",
  timeout: 60,
  timeoutFrom: "global",
  origin: "defaults.scanner",
  expr: "validators.scanner",
  kind: "builtin",
  check: "scanner",
  params: { failOn: "INVALID", warnOn: null },
};
const config = (overrides: Record<string, unknown> = {}, validatorOverrides: Record<string, unknown> = {}) => ({
  configVersion: 1,
  name: "tiny",
  preset: "standard",
  shell: null,
  validators: [{ ...validator, ...validatorOverrides }],
  ...overrides,
});

function refusal(json: unknown): string {
  try {
    parseValidationConfig(json);
  } catch (error) {
    expect(error).toBeInstanceOf(SpecFailure);
    return (error as SpecFailure).message;
  }
  throw new Error("accepted");
}

describe("the validation config, read field by field", () => {
  it("reads what lib/validation/phase2.nix writes, an empty description and a null warnOn included", () => {
    const parsed = parseValidationConfig(config());
    expect(parsed.validators[0]).toMatchObject({ name: "scanner", description: "", check: "scanner", timeout: 60 });
  });

  it("refuses unknown fields at every level, as the fetch spec does", () => {
    expect(refusal(config({ extra: 1 }))).toContain("unknown field extra");
    expect(refusal(config({}, { retries: 3 }))).toContain("unknown field validators[0].retries");
    expect(refusal(config({}, { params: { failOn: "INVALID", failOnn: "WARN" } }))).toContain(
      "unknown field validators[0].params.failOnn",
    );
  });

  it("names the field and what it must be", () => {
    expect(refusal(config({}, { timeout: 0 }))).toBe(
      "Invalid validation config: validators[0].timeout must be a positive number of seconds, got 0",
    );
    expect(refusal(config({}, { onFailure: "explode" }))).toContain(
      'validators[0].onFailure must be one of "abort", "warn", "skip", got "explode"',
    );
    expect(refusal(config({ configVersion: 2 }))).toContain("configVersion must be 1");
    expect(refusal(config({}, { params: { failOn: "SAFE" } }))).toContain(
      'validators[0].params.failOn must be one of "WARN", "INVALID", "MALICIOUS", got "SAFE"',
    );
  });

  it("is a usage error (exit status 2) in the one error format", () => {
    let caught: unknown;
    try {
      parseValidationConfig(config({}, { kind: "python" }));
    } catch (error) {
      caught = error;
    }
    const explained = explainFailure(caught) as UserError;
    expect(explained.exitCode).toBe(2);
    expect(explained.code).toBe("NMR_BAD_SPEC");
    expect(explained.message).toContain("fetchModel's validation phase");
  });
});
