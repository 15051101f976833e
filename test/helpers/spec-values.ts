/**
 * test/spec-values.json: values the Nix library and the fetcher must judge alike. One
 * table, run by both sides (test/sources/values.test.ts, test/nix-eval/values.test.ts).
 */
import { readFileSync } from "node:fs";

export const SPEC_VALUES_FILE = new URL("../spec-values.json", import.meta.url);

export interface ValueCases {
  /** fetchModel's `source`, with "@value@" where the value goes. */
  readonly source: Readonly<Record<string, unknown>>;
  readonly valid: readonly string[];
  readonly invalid: readonly string[];
}

export const specValues: ReadonlyMap<string, ValueCases> = new Map(
  Object.entries(JSON.parse(readFileSync(SPEC_VALUES_FILE, "utf8")) as Record<string, unknown>).filter(
    (entry): entry is [string, ValueCases] => !entry[0].startsWith("$"),
  ),
);

/** `template` with every "@value@" replaced by `value`. */
export function withValue(template: unknown, value: string): unknown {
  if (template === "@value@") return value;
  if (Array.isArray(template)) return template.map((item) => withValue(item, value));
  if (typeof template === "object" && template !== null) {
    return Object.fromEntries(Object.entries(template).map(([key, item]) => [key, withValue(item, value)]));
  }
  return template;
}
