import type { ValidatorFinding } from "../types.js";
import type { Check } from "./check.js";
import { readJson } from "./read.js";
import { selectFiles } from "./select.js";

/**
 * The listed files (paths or patterns) must parse as JSON (strict UTF-8, no BOM). The
 * FOD hash pins the bytes, not that they parse: a repo whose config.json is broken
 * upstream fails here, at build time, instead of in the program that loads it.
 */
const MAX_JSON_BYTES = 1 << 30;

export const validJsonCheck: Check<{ readonly files: readonly string[] }> = {
  parse(params) {
    return { files: params.stringList("files") };
  },
  async run(view, params) {
    const findings: ValidatorFinding[] = [];
    const seen = new Set<string>();
    let checked = 0;
    for (const selection of selectFiles(view, params.files)) {
      if (!selection.isPattern && selection.matches.length === 0) {
        findings.push({ file: selection.entry, reason: "listed in validJson but missing" });
      }
      for (const file of selection.matches) {
        if (seen.has(file.path)) continue;
        seen.add(file.path);
        checked++;
        if (file.size > MAX_JSON_BYTES) {
          findings.push({
            file: file.path,
            reason: `too large to check (${file.size} bytes, limit ${MAX_JSON_BYTES})`,
          });
          continue;
        }
        const json = await readJson(file.realPath);
        if (!json.ok) findings.push({ file: file.path, reason: `not valid JSON: ${json.error}` });
      }
    }
    return { outcome: findings.length > 0 ? "fail" : "pass", findings, details: { checkedFiles: checked } };
  },
};
