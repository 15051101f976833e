import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderReportJson, scanFile, scanPaths, verdictRank } from "../../src/scan/index.js";
import { CORPUS_DIR, loadCorpus } from "./helpers.js";

const cases = loadCorpus();
/** Per-file budget the issue sets for hostile input; real runs take milliseconds. */
const TIME_LIMIT_MS = 2000;

describe("scanner corpus (test/scan/make_corpus.py)", () => {
  it("holds every case of the reference corpus", () => {
    const ids = new Set(cases.map((c) => c.id));
    for (let i = 1; i <= 7; i++) expect(ids, `B${i}`).toContain(`B${i}`);
    for (let i = 1; i <= 26; i++) expect(ids, `M${i}`).toContain(`M${i}`);
  });

  it.each(cases.map((c) => [`${c.id} ${c.file}`, c] as const))("%s", async (_label, c) => {
    const started = performance.now();
    const report = await scanFile(join(CORPUS_DIR, c.file));
    const elapsed = performance.now() - started;
    const codes = report.findings.map((f) => f.code);
    expect(report.verdict, `${c.description}\n${JSON.stringify(report.findings, null, 2)}`).toBe(c.expect);
    for (const code of c.codes) expect(codes, c.description).toContain(code);
    expect(elapsed).toBeLessThan(TIME_LIMIT_MS);
  });

  it("meets the issue's targets: malicious cases caught, no benign case malicious, B5 a warning", async () => {
    for (const c of cases) {
      const report = await scanFile(join(CORPUS_DIR, c.file));
      if (c.id.startsWith("M") || c.id.startsWith("X")) {
        expect(["MALICIOUS", "INVALID"], c.file).toContain(report.verdict);
        // Only broken safetensors/GGUF may be merely INVALID.
        if (report.verdict === "INVALID") expect(c.file, c.file).toMatch(/\.(safetensors|gguf)$/);
      } else {
        expect(verdictRank(report.verdict), c.file).toBeLessThan(verdictRank("MALICIOUS"));
      }
      if (c.id === "B5") expect(report.verdict).toBe("WARN");
    }
  });

  it("gives the same report every time, sorted by path", async () => {
    const first = renderReportJson(await scanPaths([CORPUS_DIR]));
    const second = renderReportJson(await scanPaths([CORPUS_DIR]));
    expect(second).toBe(first);
    const report = JSON.parse(first) as { files: { path: string }[]; summary: { files: number } };
    const paths = report.files.map((f) => f.path);
    expect(paths).toEqual([...paths].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(report.summary.files).toBe(cases.length + 1); // + manifest.json
  });
});
