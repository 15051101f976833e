import { spawnSync } from "node:child_process";
import { rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CORPUS_DIR, bundle } from "./helpers.js";

let cli: string;

beforeAll(async () => {
  cli = await bundle("test/scan/cli-entry.ts", "scan-cli.mjs");
}, 60_000);

afterAll(async () => {
  await rm(dirname(cli), { recursive: true, force: true });
});

function run(...args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const corpus = (file: string) => join(CORPUS_DIR, file);

describe("nix-model-repo scan", () => {
  it("exits with the worst verdict: 0 safe, 10 warn, 20 invalid, 30 malicious", () => {
    expect(run(corpus("b2-state-dict.pt")).status).toBe(0);
    expect(run(corpus("b5-whole-module.pt")).status).toBe(10);
    expect(run(corpus("m25-gap.safetensors")).status).toBe(20);
    expect(run(corpus("m1-os-system-proto0.pkl")).status).toBe(30);
    expect(run(corpus("b2-state-dict.pt"), corpus("m25-gap.safetensors"), corpus("b5-whole-module.pt")).status).toBe(
      20,
    );
  });

  it("exits 2 on usage errors and missing paths", () => {
    expect(run().status).toBe(2);
    expect(run("--frobnicate", corpus("b2-state-dict.pt")).status).toBe(2);
    const missing = run(join(CORPUS_DIR, "does-not-exist"));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("does-not-exist");
  });

  it("prints one line per file and indented findings", () => {
    const { stdout } = run(corpus("m1-os-system-proto0.pkl"), corpus("b7-model.safetensors"));
    const lines = stdout.trimEnd().split("\n");
    // Sorted by path: b7 first, then m1 and its findings.
    expect(lines[0]).toMatch(/^SAFE +safetensors +\S+b7-model\.safetensors$/);
    expect(lines[1]).toMatch(/^MALICIOUS +pickle +\S+m1-os-system-proto0\.pkl$/);
    expect(lines[2]).toMatch(/^ {4}MALICIOUS +DENYLISTED_IMPORT \(@\d+\): GLOBAL imports posix\.system/);
    expect(lines.at(-1)).toBe("2 files: 1 safe, 0 warn, 0 invalid, 1 malicious — verdict MALICIOUS");
  });

  it("prints the documented JSON report with --json", () => {
    const { stdout, status } = run("--json", corpus("m17-torch-zip.pt"), corpus("b4-rng_state.pth"));
    expect(status).toBe(30);
    const report = JSON.parse(stdout) as Record<string, unknown> & { files: Array<Record<string, unknown>> };
    expect(Object.keys(report)).toEqual(["reportVersion", "verdict", "summary", "files"]);
    expect(report.reportVersion).toBe(1);
    expect(report.summary).toEqual({ files: 2, SAFE: 1, WARN: 0, INVALID: 0, MALICIOUS: 1 });
    const [rng, evil] = report.files;
    expect(Object.keys(rng!)).toEqual(["path", "format", "verdict", "size", "findings", "imports"]);
    expect(rng!.imports).toContain("numpy.core.multiarray._reconstruct");
    expect(evil!.format).toBe("pytorch-zip");
    expect(evil!.findings).toContainEqual({
      severity: "MALICIOUS",
      code: "DENYLISTED_IMPORT",
      message: expect.stringContaining("posix.system") as unknown,
      member: "archive/data.pkl",
      offset: expect.any(Number) as unknown,
    });
  });
});
