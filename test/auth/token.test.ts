/** Where a source's token comes from (src/auth/token.ts), in the order docs/architecture.md gives. */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { findToken } from "../../src/auth/token.js";
import { UserError } from "../../src/errors/user-error.js";
import { clearSecretsForTesting, redact } from "../../src/util/secrets.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "nmr-token-"));
  await writeFile(join(dir, "configured"), "\n  tok_from_file_1234  \nsecond line\n");
  await writeFile(join(dir, "standard"), "tok_standard_file_1234\n");
  await writeFile(join(dir, "empty"), "\n\n");
});
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(() => clearSecretsForTesting());

const lookup = (auth: { tokenFile?: string; tokenEnvVar?: string }, env: NodeJS.ProcessEnv) =>
  findToken({
    auth: { tokenFile: auth.tokenFile ?? null, tokenEnvVar: auth.tokenEnvVar ?? null },
    env,
    standardEnvVars: ["HF_TOKEN"],
    standardFiles: [join(dir, "missing"), join(dir, "standard")],
  });

describe("findToken", () => {
  it("takes auth.tokenFile first, its first non-empty line, and registers it as a secret", async () => {
    const found = await lookup(
      { tokenFile: join(dir, "configured"), tokenEnvVar: "MINE" },
      { MINE: "x", HF_TOKEN: "y" },
    );
    expect(found).toEqual({ token: "tok_from_file_1234", origin: `auth.tokenFile ${join(dir, "configured")}` });
    expect(redact("sent tok_from_file_1234")).toBe("sent ***");
  });

  it("then auth.tokenEnvVar, then the source's variables, then its files, else anonymous", async () => {
    expect((await lookup({ tokenEnvVar: "MINE" }, { MINE: "tok_mine_1234", HF_TOKEN: "tok_hf_1234" }))?.origin).toBe(
      "$MINE",
    );
    expect((await lookup({ tokenEnvVar: "MINE" }, { HF_TOKEN: "tok_hf_1234" }))?.origin).toBe("$HF_TOKEN");
    expect((await lookup({}, { HF_TOKEN: "  " }))?.origin).toBe(join(dir, "standard"));
    expect(
      await findToken({
        auth: { tokenFile: null, tokenEnvVar: null },
        env: {},
        standardEnvVars: [],
        standardFiles: [],
      }),
    ).toBeNull();
  });

  it("refuses a configured token file that is empty or missing, saying how builds read it", async () => {
    await expect(lookup({ tokenFile: join(dir, "empty") }, {})).rejects.toThrow("auth.tokenFile is empty");
    const missing = await lookup({ tokenFile: join(dir, "nope") }, {}).catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(UserError);
    expect((missing as UserError).message).toContain("extra-sandbox-paths");
  });
});
