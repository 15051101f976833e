/**
 * The original design's custom validators, built for real (ARCHITECTURE.md §15.4, §14.1):
 * its check-vocab-size script reads config.json with jq without declaring it, and its
 * custom-check runs a script file on $src. Phase 2 runs both on a model fetched from the
 * project's Hub server.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { libPrelude, nixAvailable, nixBuild, nixStderrWithoutBusyRetries } from "../helpers/nix.js";
import { extendedStandardValidation } from "../nix-eval/design-snippets.js";
import { safetensors, startModelHub, type ModelHub, type PrefetchedModel } from "./fixtures.js";

describe.skipIf(!nixAvailable)("the design's custom validators, built", () => {
  let models: ModelHub;
  let fetched: PrefetchedModel;

  beforeAll(async () => {
    models = await startModelHub([
      {
        repoId: "acme/wide",
        files: {
          "config.json": JSON.stringify({ vocab_size: 250000, run: randomBytes(8).toString("hex") }),
          "tokenizer.json": JSON.stringify({ version: "1.0" }),
          "model.safetensors": safetensors(randomBytes(4096)),
        },
      },
    ]);
    fetched = await models.prefetch("acme/wide");
  });

  afterAll(async () => models?.close());

  it("runs §15.4's check-vocab-size, which uses jq without declaring it", async () => {
    const result = await nixBuild(`${libPrelude} let inherit (nmr.validation) presets validators; in nmr.fetchModel {
        ${fetched.args} hash = "${fetched.hash}";
        validation = ${extendedStandardValidation};
      }`);
    expect(nixStderrWithoutBusyRetries(result.stderr), result.stderr).not.toMatch(/error:/);
    expect(result.stderr).toContain("WARNING: Large vocabulary size: 250000");
    expect(result.stderr).not.toContain("jq: command not found");
  });

  it("runs §14.1's custom-check, a script file given $src", async () => {
    const result = await nixBuild(`${libPrelude} nmr.fetchModel {
        ${fetched.args} hash = "${fetched.hash}";
        validation = {
          enable = true;
          validators = [
            {
              name = "custom-check";
              command = "\${pkgs.writeShellScript "my-validator.sh" ''test "$(jq -r .vocab_size "$1/config.json")" = 250000 && echo "custom-check saw the config"''} $src";
              onFailure = "warn";
            }
          ];
          skipDefaults = false;
        };
      }`);
    expect(nixStderrWithoutBusyRetries(result.stderr), result.stderr).not.toMatch(/error:/);
    expect(result.stderr).toContain("custom-check saw the config");
    expect(result.stderr).not.toMatch(/custom-check.*(failed|exited with status)/);
  });
});
