import type { ValidatorFinding } from "../types.js";
import { noParams, type Check } from "./check.js";
import { nonSafetensorsWeights } from "./formats.js";
import { scanView } from "./scan-view.js";

/**
 * The model's weights must be safetensors. Refused: weights in any other format the
 * scanner recognises by content (pickle and torch checkpoints, NumPy, GGUF, HDF5, Keras),
 * and files named like weights (`.bin`, `.pt`, `.onnx`, …) whose content is not
 * safetensors, even unrecognised bytes: such a file is read by some loader the scanner
 * does not know. Configs, tokenizers and other non-weight files are not concerned.
 */
export const safetensorsOnlyCheck: Check<Record<string, never>> = {
  parse: noParams,
  async run(view) {
    const findings: ValidatorFinding[] = [];
    let safetensors = 0;
    for (const { file, report } of await scanView(view)) {
      if (report.format === "safetensors") safetensors++;
      const reason = nonSafetensorsWeights(file, report);
      if (reason !== undefined) findings.push({ file, reason });
    }
    return { outcome: findings.length > 0 ? "fail" : "pass", findings, details: { safetensorsFiles: safetensors } };
  },
};
