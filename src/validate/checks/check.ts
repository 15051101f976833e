import { UserError } from "../../errors/user-error.js";
import type { CheckResult } from "../types.js";
import type { ModelView } from "../view.js";

/**
 * A built-in check: `parse` turns the params the Nix side wrote into typed ones (refusing
 * anything else, naming the field), `run` decides about the model. Checks only read the
 * view; they never write, and their result must not depend on time or the machine.
 */
export interface Check<P> {
  readonly parse: (params: Readonly<Record<string, unknown>>, where: string) => P;
  readonly run: (view: ModelView, params: P) => Promise<CheckResult>;
}

export function paramError(where: string, message: string): UserError {
  return new UserError(
    {
      what: `The validation config's ${where} ${message}`,
      fix: ["set the validator through lib.validation.validators, which checks its arguments"],
    },
    { exitCode: 2 },
  );
}

export function noParams(params: Readonly<Record<string, unknown>>, where: string): Record<string, never> {
  const keys = Object.keys(params);
  if (keys.length > 0) throw paramError(where, `takes no parameters, but has ${keys.join(", ")}`);
  return {};
}

export function onlyKeys(params: Readonly<Record<string, unknown>>, allowed: readonly string[], where: string): void {
  const unknown = Object.keys(params).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) throw paramError(where, `has unknown parameter ${unknown[0]} (known: ${allowed.join(", ")})`);
}

export function stringList(value: unknown, where: string): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string" && item !== "")) {
    throw paramError(where, "must be a list of non-empty strings");
  }
  return value as string[];
}
