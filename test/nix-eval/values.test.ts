/**
 * The Nix library's side of test/spec-values.json: each value, put into fetchModel's
 * `source`, evaluated by nix-instantiate. Nix reads the table itself (builtins.fromJSON),
 * so both sides run exactly the same values.
 */
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { libPrelude, nixAvailable, nixEval, SOME_HASH } from "../helpers/nix.js";
import { SPEC_VALUES_FILE, specValues } from "../helpers/spec-values.js";

describe.skipIf(!nixAvailable)("the Nix library judges the table's values as the fetcher does", () => {
  it("accepts every valid value and refuses every invalid one", async () => {
    const result = await nixEval(`${libPrelude}
let
  inherit (builtins) fromJSON readFile isAttrs isList mapAttrs removeAttrs tryEval deepSeq;
  table = removeAttrs (fromJSON (readFile ${fileURLToPath(SPEC_VALUES_FILE)})) [ "$comment" ];
  withValue = value: template:
    if template == "@value@" then value
    else if isAttrs template then mapAttrs (_: withValue value) template
    else if isList template then map (withValue value) template
    else template;
  accepts = source: (tryEval (deepSeq
    (nmr.fetchModel { name = "values"; inherit source; hash = "${SOME_HASH}"; }).spec.source true)).success;
in
mapAttrs (_: cases: {
  valid = map (value: accepts (withValue value cases.source)) cases.valid;
  invalid = map (value: accepts (withValue value cases.source)) cases.invalid;
}) table`);
    expect(result.ok, result.stderr).toBe(true);
    const judged = result.value as Record<string, { valid: boolean[]; invalid: boolean[] }>;
    const disagreements: string[] = [];
    for (const [name, cases] of specValues) {
      cases.valid.forEach((value, index) => {
        if (judged[name]?.valid[index] !== true) disagreements.push(`${name}: refuses valid ${JSON.stringify(value)}`);
      });
      cases.invalid.forEach((value, index) => {
        if (judged[name]?.invalid[index] !== false)
          disagreements.push(`${name}: accepts invalid ${JSON.stringify(value)}`);
      });
    }
    expect(disagreements).toEqual([]);
  });
});
