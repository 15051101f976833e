import type { ValidatorFinding } from "../types.js";
import { noParams, type Check } from "./check.js";
import { pickleReading } from "./formats.js";
import { scanView } from "./scan-view.js";

/**
 * Refuses every file a loader would unpickle — a plain pickle, a torch checkpoint (zip,
 * legacy or tar), TorchScript, NumPy object arrays, a pickle hidden in a polyglot —
 * whatever it is named and whether or not the scanner found anything dangerous in it:
 * the point is not to depend on a pickle scanner being right.
 */
export const noPickleFilesCheck: Check<Record<string, never>> = {
  parse: noParams,
  async run(view) {
    const findings: ValidatorFinding[] = [];
    for (const { file, report } of await scanView(view)) {
      const reading = pickleReading(report);
      if (reading !== undefined) findings.push({ file, reason: reading });
    }
    return { outcome: findings.length > 0 ? "fail" : "pass", findings };
  },
};
