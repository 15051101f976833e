import { describe, expect, it } from "vitest";
import { totalBytes } from "../../src/util/units.js";

describe("totalBytes", () => {
  it("adds the sizes", () => {
    expect(totalBytes([1, 2, 3])).toBe(6);
    expect(totalBytes([])).toBe(0);
  });

  it("is undefined when any size is not known, wherever it stands", () => {
    expect(totalBytes([undefined])).toBeUndefined();
    expect(totalBytes([1, undefined, 3])).toBeUndefined();
    expect(totalBytes([0, 5, undefined])).toBeUndefined();
  });
});
