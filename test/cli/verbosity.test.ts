/**
 * -v/--verbose and -q/--quiet (issue 9), the same for every command: each command's --help
 * names them, and a fetch prints what its level promises (docs/errors.md): quiet, nothing but
 * warnings and errors on stderr; the default, progress and notes; verbose, every request too.
 * Results on stdout never change.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { commands } from "../../src/cli/commands/index.js";
import { fetchCommand, runCli } from "../helpers/cli.js";
import { useFaultBed } from "../helpers/transfer-fixtures.js";

const bed = useFaultBed();
const content = Buffer.from("weights for the verbosity test");
const sha256 = createHash("sha256").update(content).digest("hex");
let runs = 0;

function fetchUrl(path: string, filename: string) {
  const url = bed.server.url(path);
  return fetchCommand(join(bed.dir.path, `run-${++runs}`), {
    name: "v",
    source: { type: "url", urls: [{ url, sha256, filename }] },
  });
}

async function fetchWith(flags: readonly string[], where: "before" | "after" = "after") {
  bed.server.serveBytes("/verbosity/model.bin", content);
  const { args } = await fetchUrl("/verbosity/model.bin", "model.bin");
  // The plain progress mode is what a user sees outside a terminal; -q must silence it too.
  return runCli(where === "before" ? [...flags, ...args] : [...args, ...flags]);
}

describe("-v and -q", () => {
  it.each([...commands.keys()])("are listed by `%s --help`", async (name) => {
    const result = await runCli([name, "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("-v, --verbose");
    expect(result.stdout).toContain("-q, --quiet");
  });

  it("default: progress lines, no request lines", async () => {
    const result = await fetchWith([]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain("started model.bin");
    expect(result.stderr).not.toMatch(/GET http/);
  });

  it.each([["-q"], ["--quiet"]])("%s: nothing on stderr for a fetch that works", async (flag) => {
    const result = await fetchWith([flag]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe("");
  });

  it.each([["-v"], ["--verbose"]])("%s: each request and its answer, besides the progress", async (flag) => {
    const result = await fetchWith([flag]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`GET ${bed.server.url("/verbosity/model.bin")}: HTTP 200`);
    expect(result.stderr).toContain("started model.bin");
  });

  it("go before the command's name as well", async () => {
    const result = await fetchWith(["-q"], "before");
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe("");
  });

  it("cannot be used together", async () => {
    const result = await fetchWith(["-v", "-q"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("error: --verbose and --quiet cannot be used together");
  });

  it("leave an error in full: -q still prints what failed and how to fix it", async () => {
    bed.server.serveBytes("/verbosity/missing.bin", content, { statuses: [{ status: 404 }] });
    const { args } = await fetchUrl("/verbosity/missing.bin", "m.bin");
    const result = await runCli([args[0]!, "-q", ...args.slice(1)]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: Failed to download m\.bin\n/);
    expect(result.stderr).toContain("To fix this:");
  });
});
