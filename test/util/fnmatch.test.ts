import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { compileAllowPatterns, fnmatchToRegExp } from "../../src/util/fnmatch.js";

const paths = [
  "config.json",
  "model.safetensors",
  "model-00001-of-00002.safetensors",
  "onnx/model.onnx",
  "onnx/nested/deep.bin",
  "2_Dense/config.json",
  "tokenizer.json",
  "tokenizer_config.json",
  "README.md",
  "a[1].txt",
  "weird name?.txt",
  "ünïcode/é.json",
  "x-y.bin",
  "]bracket",
  "!bang",
];

const patterns = [
  "*.json",
  "*.safetensors",
  "onnx/*",
  "onnx/",
  "*/config.json",
  "tokenizer*",
  "model-0000?-of-00002.safetensors",
  "[a-m]*",
  "[!a-m]*",
  "[]]*",
  "[!]]*",
  "a[1].txt",
  "a[[]1].txt",
  "[",
  "*[",
  "x[--z]y.bin",
  "[z-a]*",
  "*?.txt",
  "ünïcode/*",
  "**.bin",
  "README.md",
  "readme.md",
];

describe("huggingface allow_patterns", () => {
  it("keeps everything when no patterns are given", () => {
    const keep = compileAllowPatterns(null);
    expect(paths.every((path) => keep(path))).toBe(true);
  });

  it("lets * cross directory separators, as fnmatch does", () => {
    expect(fnmatchToRegExp("*.bin").test("onnx/nested/deep.bin")).toBe(true);
  });

  it("treats a trailing / as the whole folder", () => {
    const keep = compileAllowPatterns(["onnx/"]);
    expect(paths.filter(keep)).toEqual(["onnx/model.onnx", "onnx/nested/deep.bin"]);
  });

  it("is case-sensitive and anchored", () => {
    const keep = compileAllowPatterns(["readme.md", "config"]);
    expect(paths.filter(keep)).toEqual([]);
  });

  it("agrees with CPython's fnmatch on every pattern and path", () => {
    // huggingface_hub filters with fnmatch.fnmatch after adding "*" to patterns ending in "/".
    const script = `
import fnmatch, json, sys
data = json.load(sys.stdin)
out = {}
for p in data["patterns"]:
    q = p + "*" if p.endswith("/") else p
    out[p] = [path for path in data["paths"] if fnmatch.fnmatch(path, q)]
json.dump(out, sys.stdout)
`;
    const truth = JSON.parse(
      execFileSync("python3", ["-c", script], { input: JSON.stringify({ patterns, paths }), encoding: "utf8" }),
    ) as Record<string, string[]>;
    for (const pattern of patterns) {
      expect({ pattern, matched: paths.filter(compileAllowPatterns([pattern])) }).toEqual({
        pattern,
        matched: truth[pattern],
      });
    }
  });
});
