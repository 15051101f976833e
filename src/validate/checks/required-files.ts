import type { ValidatorFinding } from "../types.js";
import type { Check } from "./check.js";
import { selectFiles } from "./select.js";

/** Each listed path must be a file of the model; each pattern must match at least one. */
export const requiredFilesCheck: Check<{ readonly files: readonly string[] }> = {
  parse(params) {
    return { files: params.stringList("files") };
  },
  async run(view, params) {
    const findings: ValidatorFinding[] = [];
    for (const selection of selectFiles(view, params.files)) {
      if (selection.matches.length > 0) continue;
      findings.push(
        selection.isPattern
          ? { file: null, reason: `no file matches the required pattern ${JSON.stringify(selection.entry)}` }
          : { file: selection.entry, reason: "required file is missing" },
      );
    }
    return { outcome: findings.length > 0 ? "fail" : "pass", findings };
  },
};
