/**
 * The fetcher's side of test/spec-values.json: each value, put into a source, through
 * the spec reader the fetch uses (the Nix side runs the same table through fetchModel).
 */
import { describe, expect, it } from "vitest";
import { SpecFailure } from "../../src/errors/failures.js";
import { parseSourceSpec } from "../../src/sources/registry.js";
import { FieldReader } from "../../src/spec/fields.js";
import { specValues, withValue } from "../helpers/spec-values.js";

/** fetchModel's `source.<type> = {...}` as the spec writes it: { type, ... }. */
function accepts(source: unknown): boolean {
  const [[type, fields]] = Object.entries(source as Record<string, Record<string, unknown>>) as [
    [string, Record<string, unknown>],
  ];
  try {
    parseSourceSpec(FieldReader.root({ type, ...fields }, "spec.source"));
    return true;
  } catch (error) {
    if (error instanceof SpecFailure) return false;
    throw error;
  }
}

describe("the fetcher judges the table's values as the Nix library does", () => {
  for (const [name, cases] of specValues) {
    it(name, () => {
      const judged = (values: readonly string[]) =>
        values.map((value) => [value, accepts(withValue(cases.source, value))] as const);
      expect(judged(cases.valid)).toEqual(cases.valid.map((value) => [value, true]));
      expect(judged(cases.invalid)).toEqual(cases.invalid.map((value) => [value, false]));
    });
  }
});
