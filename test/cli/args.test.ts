/** Command-line mistakes are usage errors (exit status 2) that show the command's usage. */
import { describe, expect, it } from "vitest";
import { integerFlag, parseCommandArgs, requiredFlags, usageError } from "../../src/cli/args.js";
import { UserError } from "../../src/errors/user-error.js";

const usage = "nix-model-repo demo --spec FILE --out DIR";

function thrown(action: () => unknown): UserError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return error as UserError;
  }
  throw new Error("did not throw");
}

describe("the CLI's argument errors", () => {
  it("an unknown flag: exit 2, the parser's words, the usage as the fix", () => {
    const error = thrown(() => parseCommandArgs(usage, ["--spek", "x"], { spec: { type: "string" } }));
    expect(error.exitCode).toBe(2);
    expect(error.details.what).toContain("--spek");
    expect(error.details.fix).toEqual([`usage:\n${usage}`]);
  });

  it("required flags: every missing one named, the values given back", () => {
    expect(requiredFlags("demo", usage, { "--spec FILE": "a.json", "--out DIR": "out" })).toEqual({
      "--spec FILE": "a.json",
      "--out DIR": "out",
    });
    const error = thrown(() => requiredFlags("demo", usage, { "--spec FILE": undefined, "--out DIR": "" }));
    expect(error.details.what).toBe("demo needs --spec FILE and --out DIR");
    expect(error.exitCode).toBe(2);
  });

  it("integer flags: the fallback when absent, a usage error naming the flag otherwise", () => {
    expect(integerFlag("port", undefined, 8080)).toBe(8080);
    expect(integerFlag("port", "0", 8080)).toBe(0);
    expect(thrown(() => integerFlag("port", "-1", 8080)).details.what).toBe(
      "--port must be a non-negative integer, got '-1'",
    );
    expect(usageError("w", usage).exitCode).toBe(2);
  });
});
