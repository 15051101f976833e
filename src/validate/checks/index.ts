import { FieldReader } from "../../spec/fields.js";
import type { CheckName, CheckResult } from "../types.js";
import type { ModelView } from "../view.js";
import { CHECK_PARAMS, type Check } from "./check.js";
import { licenseCheck } from "./license.js";
import { maxSizeCheck } from "./max-size.js";
import { noPickleFilesCheck } from "./no-pickle.js";
import { noPythonCodeCheck } from "./no-python.js";
import { requiredFilesCheck } from "./required-files.js";
import { safetensorsOnlyCheck } from "./safetensors-only.js";
import { scannerCheck } from "./scanner.js";
import { validJsonCheck } from "./valid-json.js";

/** A check with its params type erased: params only ever reach `run` through its own `parse`. */
interface ErasedCheck {
  readonly run: (view: ModelView, params: Readonly<Record<string, unknown>>, where: string) => Promise<CheckResult>;
  readonly parse: (params: Readonly<Record<string, unknown>>, where: string) => unknown;
}

function erase<P>(check: Check<P>): ErasedCheck {
  const parse = (params: Readonly<Record<string, unknown>>, where: string): P => {
    const reader = FieldReader.root(params, where, CHECK_PARAMS);
    const parsed = check.parse(reader);
    reader.done();
    return parsed;
  };
  return { parse, run: (view, params, where) => check.run(view, parse(params, where)) };
}

/** The built-in checks, by the name lib/validation/validators.nix gives them. */
const CHECKS: { readonly [N in CheckName]: ErasedCheck } = {
  scanner: erase(scannerCheck),
  noPickleFiles: erase(noPickleFilesCheck),
  safetensorsOnly: erase(safetensorsOnlyCheck),
  noPythonCode: erase(noPythonCodeCheck),
  maxSize: erase(maxSizeCheck),
  requiredFiles: erase(requiredFilesCheck),
  validJson: erase(validJsonCheck),
  licenseCheck: erase(licenseCheck),
};

export const CHECK_NAMES = Object.keys(CHECKS) as CheckName[];

/** Checks a built-in validator's params (throws a usage error naming the field). */
export function parseCheckParams(check: CheckName, params: Readonly<Record<string, unknown>>, where: string): void {
  CHECKS[check].parse(params, where);
}

export function runCheck(
  check: CheckName,
  view: ModelView,
  params: Readonly<Record<string, unknown>>,
): Promise<CheckResult> {
  return CHECKS[check].run(view, params, check);
}
