// src/http/undici-assert.cjs stands in for node:assert in undici's bundled code
// (scripts/bundle.mjs): a check that passes costs nothing, one that fails throws node's own
// AssertionError, with undici's message when it gives one.
import { AssertionError } from "node:assert";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

const assert = createRequire(import.meta.url)("../../src/http/undici-assert.cjs") as (
  value: unknown,
  message?: string | Error,
) => void;

describe("undici's assert in the bundle", () => {
  it("returns for a truthy value", () => {
    for (const value of [true, 1, "x", {}, []]) expect(assert(value)).toBeUndefined();
  });

  it("throws node's AssertionError for a falsy value", () => {
    for (const value of [false, 0, "", null, undefined, Number.NaN]) {
      expect(() => assert(value)).toThrow(AssertionError);
      expect(() => assert(value)).toThrow(expect.objectContaining({ code: "ERR_ASSERTION" }));
    }
  });

  it("throws with the message given, or the error given", () => {
    expect(() => assert(false, "parser paused")).toThrow(
      expect.objectContaining({ name: "AssertionError", message: "parser paused", actual: false, operator: "==" }),
    );
    const error = new TypeError("given");
    expect(() => assert(0, error)).toThrow(error);
  });
});
