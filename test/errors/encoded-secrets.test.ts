/**
 * A token a server sends back in another form is redacted too (issue 14, item 8): the
 * bundled CLI fetches from a server on loopback that refuses the download and echoes the
 * token percent-encoded, JSON-escaped and inside a Basic credential in base64; none of
 * those forms may appear in what the CLI prints.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { encodedForms } from "../../src/util/secrets.js";
import { fetchCommand, runCli } from "../helpers/cli.js";
import { useFaultBed } from "../helpers/transfer-fixtures.js";

const bed = useFaultBed();
// Characters that every one of the encodings below changes.
const TOKEN = `tok/${randomBytes(9).toString("base64")}+"é`;

const percentEncodedBytes = (text: string) =>
  [...Buffer.from(text)].map((byte) => `%${byte.toString(16).padStart(2, "0").toUpperCase()}`).join("");

describe("a token echoed in another encoding", () => {
  it.each([
    ["percent-encoded", encodeURIComponent(TOKEN)],
    ["percent-encoded byte by byte", percentEncodedBytes(TOKEN)],
    ["JSON-escaped", JSON.stringify(TOKEN).slice(1, -1)],
    ["in a Basic credential", Buffer.from(`user:${TOKEN}`).toString("base64")],
    ["in a Basic credential, URL-safe base64", Buffer.from(`x:${TOKEN}`).toString("base64url")],
  ])("%s is not printed", async (name, echoed) => {
    const path = `/echo-${name.replace(/\W+/g, "-")}/model.bin`;
    bed.server.serveBytes(path, Buffer.from("weights"), {
      statuses: [{ status: 403, headers: { "content-type": "text/plain" }, body: `denied for ${echoed} (sorry)` }],
    });
    const { args } = await fetchCommand(join(bed.dir.path, name.replace(/\W+/g, "-")), {
      name: "echo",
      source: { type: "url", urls: [{ url: bed.server.url(path), sha256: "0".repeat(64), filename: "model.bin" }] },
      auth: { tokenEnvVar: "ECHO_TOKEN", tokenFile: null },
      network: { retry: { maxAttempts: 1, baseDelay: 0 } },
    });
    const result = await runCli(args, { env: { ECHO_TOKEN: TOKEN } });
    expect(result.code).toBe(1);
    // The server's message is shown, with the token taken out.
    expect(result.stderr).toMatch(/denied for .*\*\*\*.* \(sorry\)/);
    expect(result.stderr).not.toContain(echoed);
    expect(result.stderr).not.toContain(TOKEN);
  });
});

describe("encodedForms", () => {
  it("finds the token's base64 whatever precedes it in the encoded text", () => {
    for (const prefix of ["", "a", "ab", "abc", "user:"]) {
      const encoded = Buffer.from(`${prefix}${TOKEN}!`).toString("base64");
      expect(encodedForms(TOKEN).some((form) => encoded.includes(form))).toBe(true);
    }
  });
});
