import type { SpecDocument } from "../../errors/failures.js";
import type { FieldReader } from "../../spec/fields.js";
import type { CheckResult } from "../types.js";
import type { ModelView } from "../view.js";

/**
 * A built-in check: `parse` reads the params the Nix side wrote into typed ones, with
 * the one field reader (src/spec/fields.ts: every field named, unknown ones refused),
 * `run` decides about the model. Checks only read the view; they never write, and their
 * result must not depend on time or the machine.
 */
export interface Check<P> {
  readonly parse: (params: FieldReader) => P;
  readonly run: (view: ModelView, params: P) => Promise<CheckResult>;
}

/** The checks' parameters, as their errors name them. */
export const CHECK_PARAMS: SpecDocument = {
  title: "validation config",
  fix: ["Set the validator through lib.validation.validators, which checks its arguments."],
  help: "docs/validation.md",
  exitCode: 2,
};

/** For checks without parameters: the reader refuses any that are given. */
export function noParams(): Record<string, never> {
  return {};
}
