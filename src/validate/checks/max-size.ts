import { modelSize } from "../view.js";
import { formatBytes } from "../bytes.js";
import type { Check } from "./check.js";

/**
 * The model (each distinct blob once, as it occupies the store) must not be larger than
 * `limit`. The Nix side parses the limit ("20G", docs/validation.md) into `bytes`.
 */
export const maxSizeCheck: Check<{ readonly limit: string; readonly bytes: number }> = {
  parse(params) {
    return { limit: params.string("limit"), bytes: params.number("bytes", { min: 0, integer: true }) };
  },
  async run(view, params) {
    const total = modelSize(view);
    const details = { totalBytes: total, limitBytes: params.bytes };
    if (total <= params.bytes) return { outcome: "pass", findings: [], details };
    return {
      outcome: "fail",
      findings: [
        {
          file: null,
          reason: `the model is ${formatBytes(total)} (${total} bytes), over the limit ${params.limit} (${params.bytes} bytes)`,
        },
      ],
      details,
    };
  },
};
