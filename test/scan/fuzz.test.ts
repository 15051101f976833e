import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { scanBytes, type Verdict } from "../../src/scan/index.js";
import { CORPUS_DIR, loadCorpus, prng } from "./helpers.js";

/**
 * Random mutations of every corpus file (fixed seed, so a failure reproduces): the scanner must
 * return a report for each — never throw — and stay within the per-file time budget.
 */

const MUTATIONS_PER_FILE = 30;
const MUTATIONS_PER_LARGE_FILE = 3;
const LARGE = 100_000;
const TIME_LIMIT_MS = 2000;
const VERDICTS: readonly Verdict[] = ["SAFE", "WARN", "INVALID", "MALICIOUS"];
const INTERESTING = [0x00, 0xff, 0x7f, 0x80, 0x2e, 0x28, 0x63, 0x93, 0x95, 0x8c, 0x0a, 0x50, 0x4b];
const EXTREMES = [0xffffffff, 0x7fffffff, 0x80000000, 0, 1];

function mutate(input: Uint8Array, random: () => number): Uint8Array {
  const pick = (n: number) => Math.floor(random() * n);
  let bytes = Uint8Array.from(input);
  const rounds = 1 + pick(4);
  for (let r = 0; r < rounds; r++) {
    if (bytes.length === 0) return Uint8Array.of(pick(256));
    const at = pick(bytes.length);
    switch (pick(7)) {
      case 0:
        bytes[at] = bytes[at]! ^ (1 << pick(8));
        break;
      case 1:
        bytes[at] = INTERESTING[pick(INTERESTING.length)]!;
        break;
      case 2:
        bytes = bytes.slice(0, at);
        break;
      case 3:
        bytes = Uint8Array.from([...bytes.slice(0, at), ...bytes.slice(at + 1 + pick(64))]);
        break;
      case 4: {
        const chunk = bytes.slice(at, at + 1 + pick(256));
        bytes = Uint8Array.from([...bytes.slice(0, at), ...chunk, ...bytes.slice(at)]);
        break;
      }
      case 5: {
        // Lengths and offsets are 4- or 8-byte little-endian fields in every format here.
        if (at + 8 <= bytes.length) {
          const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
          if (random() < 0.5) view.setUint32(at, EXTREMES[pick(EXTREMES.length)]!, true);
          else view.setBigUint64(at, random() < 0.5 ? 0xffffffffffffffffn : BigInt(pick(2 ** 30)) << 20n, true);
        }
        break;
      }
      default:
        bytes = Uint8Array.from([
          ...bytes.slice(0, at),
          ...Array.from({ length: 1 + pick(16) }, () => pick(256)),
          ...bytes.slice(at),
        ]);
    }
  }
  return bytes;
}

describe("fuzzed corpus files", () => {
  const files = [...new Set(loadCorpus().map((c) => c.file))];

  it.each(files.map((file, index) => [file, index] as const))("%s", (file, index) => {
    const path = join(CORPUS_DIR, file);
    const original = readFileSync(path);
    const random = prng(0x5ca7 + index);
    const count = statSync(path).size > LARGE ? MUTATIONS_PER_LARGE_FILE : MUTATIONS_PER_FILE;
    for (let i = 0; i < count; i++) {
      const mutated = mutate(original, random);
      const started = performance.now();
      const report = scanBytes(mutated, file);
      const elapsed = performance.now() - started;
      expect(VERDICTS).toContain(report.verdict);
      expect(
        report.findings.some((f) => f.code === "SCANNER_ERROR"),
        JSON.stringify(report.findings),
      ).toBe(false);
      expect(elapsed, `mutation ${i} of ${file}`).toBeLessThan(TIME_LIMIT_MS);
    }
  });
});
