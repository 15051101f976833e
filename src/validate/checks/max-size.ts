import { modelSize } from "../view.js";
import { formatBytes } from "../bytes.js";
import { onlyKeys, paramError, type Check } from "./check.js";

/**
 * The model (each distinct blob once, as it occupies the store) must not be larger than
 * `limit`. The Nix side parses the limit ("20G", docs/validation.md) into `bytes`.
 */
export const maxSizeCheck: Check<{ readonly limit: string; readonly bytes: number }> = {
  parse(params, where) {
    onlyKeys(params, ["limit", "bytes"], where);
    const limit = params["limit"];
    const bytes = params["bytes"];
    if (typeof limit !== "string" || limit === "") throw paramError(`${where}.limit`, 'must be a size such as "20G"');
    if (typeof bytes !== "number" || !Number.isSafeInteger(bytes) || bytes < 0)
      throw paramError(`${where}.bytes`, "must be a non-negative integer");
    return { limit, bytes };
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
