/**
 * The built-in checks on real raw outputs in temp dirs (the scanner's corpus for the
 * hostile files): what each refuses, by content where it matters, and the paths it names.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openModelView, modelSize, runCheck, type CheckName, type CheckResult } from "../../src/validate/index.js";
import { cleanModelFiles, corpus, README_APACHE, safetensors, writeRawHf, writeRawOllama } from "./fixtures.js";

let root: string;
let counter = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "nmr-validate-checks-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function check(
  files: Record<string, Buffer | string>,
  name: CheckName,
  params: Record<string, unknown> = {},
): Promise<CheckResult> {
  const repo = await writeRawHf(join(root, `m${counter++}`), files);
  return runCheck(name, await openModelView(repo.folder), params);
}

const files = (result: CheckResult) => result.findings.map((f) => f.file);

describe("the snapshot view", () => {
  it("is the snapshot folder, with repo paths, each file's blob and size", async () => {
    const repo = await writeRawHf(join(root, "view"), { ...cleanModelFiles(), "sub/dir/a.json": "{}" });
    const view = await openModelView(repo.folder);
    expect(view.root).toBe(join(repo.folder, "snapshots", repo.commit));
    expect(view.layout).toBe("huggingface");
    expect(view.files.map((f) => f.path)).toEqual([
      "README.md",
      "config.json",
      "model.safetensors",
      "sub/dir/a.json",
      "tokenizer.json",
    ]);
    expect(view.files.every((f) => f.realPath.startsWith(join(repo.folder, "blobs")))).toBe(true);
  });

  it("counts a blob two paths share once", async () => {
    const weights = safetensors(1000);
    const repo = await writeRawHf(join(root, "shared"), { "a.safetensors": weights, "b/a.safetensors": weights });
    const view = await openModelView(repo.folder);
    expect(view.files).toHaveLength(2);
    expect(modelSize(view)).toBe(weights.length);
  });

  it("refuses an output that is not a raw one", async () => {
    await expect(openModelView(root)).rejects.toThrow(/is not a raw model output/);
  });
});

describe("scanner", () => {
  it("fails MALICIOUS content and names the file by its repo path", async () => {
    const result = await check({ ...cleanModelFiles(), "pytorch_model.bin": corpus("m17-torch-zip.pt") }, "scanner", {
      failOn: "INVALID",
      warnOn: "WARN",
    });
    expect(result.outcome).toBe("fail");
    expect(files(result)).toEqual(["pytorch_model.bin", "pytorch_model.bin"]);
    expect(result.findings[0]!.reason).toMatch(
      /^MALICIOUS DENYLISTED_IMPORT in archive\/data\.pkl: GLOBAL imports posix\.system/,
    );
    expect(result.details).toMatchObject({ verdict: "MALICIOUS", summary: { files: 5, MALICIOUS: 1, SAFE: 4 } });
  });

  it("warns, not fails, on WARN content at the standard thresholds, and says nothing at minimal's", async () => {
    const model = { ...cleanModelFiles(), "training_args.bin": corpus("b11-trainer-state.pt") };
    const standard = await check(model, "scanner", { failOn: "INVALID", warnOn: "WARN" });
    expect(standard.outcome).toBe("warn");
    expect(files(standard)).toEqual(["training_args.bin", "training_args.bin"]);
    const minimal = await check(model, "scanner", { failOn: "MALICIOUS", warnOn: "INVALID" });
    expect(minimal).toMatchObject({ outcome: "pass", findings: [] });
    const strict = await check(model, "scanner", { failOn: "WARN", warnOn: "WARN" });
    expect(strict.outcome).toBe("fail");
  });

  it("passes a clean model and leaves the fetcher's own files (meta, refs) out", async () => {
    const result = await check(cleanModelFiles(), "scanner", {});
    expect(result).toMatchObject({
      outcome: "pass",
      findings: [],
      details: { verdict: "SAFE", summary: { files: 4 } },
    });
  });
});

describe("noPickleFiles", () => {
  it("refuses pickles by content whatever their names, safe or not", async () => {
    const result = await check(
      {
        ...cleanModelFiles(),
        "pytorch_model.bin": corpus("b2-state-dict.pt"),
        "weights.dat": corpus("b1-data-proto4.pkl"),
        "arrays.npy": corpus("b6-object.npy"),
        "numbers.npy": corpus("b6-numeric.npy"),
      },
      "noPickleFiles",
    );
    expect(result.outcome).toBe("fail");
    expect(files(result)).toEqual(["arrays.npy", "pytorch_model.bin", "weights.dat"]);
    expect(result.findings[1]!.reason).toContain("pytorch-zip data");
  });

  it("passes a model without pickles", async () => {
    expect(await check(cleanModelFiles(), "noPickleFiles")).toEqual({ outcome: "pass", findings: [] });
  });
});

describe("safetensorsOnly", () => {
  it("refuses other weight formats by content and weight-named files that are not safetensors", async () => {
    const result = await check(
      {
        ...cleanModelFiles(),
        "pytorch_model.bin": corpus("b2-state-dict.pt"),
        "raw.bin": Buffer.from("not tensors any loader we know"),
        "model.gguf": corpus("b7-model.gguf"),
        "fake.safetensors": corpus("b1-data-proto2.pkl"),
        "tokenizer.model": Buffer.from([0x0a, 0x05, 0x68, 0x65]),
      },
      "safetensorsOnly",
    );
    expect(files(result)).toEqual(["fake.safetensors", "model.gguf", "pytorch_model.bin", "raw.bin"]);
    expect(result.findings.find((f) => f.file === "raw.bin")!.reason).toMatch(
      /named like weights \(\.bin\) but its content is not safetensors/,
    );
    expect(result.details).toEqual({ safetensorsFiles: 1 });
  });
});

describe("noPythonCode", () => {
  it("refuses Python by name, by content and auto_map remote code", async () => {
    const pyc = Buffer.concat([Buffer.from([0xcb, 0x0d, 0x0d, 0x0a]), Buffer.alloc(28)]);
    const result = await check(
      {
        ...cleanModelFiles(),
        "modeling_tiny.py": "import os\n",
        "tools/run": "#!/usr/bin/env python3\nprint(1)\n",
        "cache.bin": pyc,
        "config.json": JSON.stringify({ auto_map: { AutoModel: "modeling_tiny.TinyModel" } }),
        "run.sh": "#!/bin/sh\necho hi\n",
      },
      "noPythonCode",
    );
    expect(files(result)).toEqual(["cache.bin", "config.json", "modeling_tiny.py", "tools/run"]);
    expect(result.findings[0]!.reason).toBe("CPython bytecode (magic number 3531)");
    expect(result.findings[1]!.reason).toContain("modeling_tiny.TinyModel");
  });
});

describe("maxSize", () => {
  it("compares the distinct blobs' total with the limit", async () => {
    const model = { "a.safetensors": safetensors(256), "copy.safetensors": safetensors(256) };
    const size = safetensors(256).length;
    expect((await check(model, "maxSize", { limit: "1K", bytes: 1024 + 128 })).outcome).toBe("pass");
    const over = await check(model, "maxSize", { limit: "1K", bytes: 1024 });
    expect(over.outcome).toBe("fail");
    expect(over.findings[0]!.reason).toBe(`the model is 1.07 KiB (${size} bytes), over the limit 1K (1024 bytes)`);
  });
});

describe("requiredFiles and validJson", () => {
  it("requiredFiles wants each path present and each pattern matched", async () => {
    const result = await check(cleanModelFiles(), "requiredFiles", {
      files: ["config.json", "tokenizer_config.json", "*.safetensors", "*.gguf"],
    });
    expect(result.findings).toEqual([
      { file: "tokenizer_config.json", reason: "required file is missing" },
      { file: null, reason: 'no file matches the required pattern "*.gguf"' },
    ]);
  });

  it("validJson parses the files named and matched", async () => {
    const result = await check(
      { ...cleanModelFiles(), "broken.json": '{"a": 1,}', "bom.json": "\uFEFF{}", "sub/ok.json": "[]" },
      "validJson",
      { files: ["*.json", "missing.json"] },
    );
    expect(files(result)).toEqual(["bom.json", "broken.json", "missing.json"]);
    expect(result.findings[0]!.reason).toMatch(/byte-order mark/);
    expect(result.findings[1]!.reason).toMatch(/^not valid JSON: /);
    expect(result.findings[2]!.reason).toBe("listed in validJson but missing");
    expect(result.details).toEqual({ checkedFiles: 5 });
  });
});

describe("licenseCheck", () => {
  const card = (front: string) => `---\n${front}\n---\n# model\n`;

  it("reads the card's license in every shape cards use", async () => {
    for (const [front, expected] of [
      ["license: apache-2.0", ["apache-2.0"]],
      ["license: 'MIT'  # comment", ["mit"]],
      ["license: [mit, apache-2.0]", ["mit", "apache-2.0"]],
      ["language: en\nlicense:\n  - mit\n  - cc-by-4.0\ntags: []", ["mit", "cc-by-4.0"]],
      ["license: other\nlicense_name: acme-research", ["acme-research"]],
    ] as const) {
      const result = await check({ "README.md": card(front) }, "licenseCheck", { allow: null });
      expect(result.outcome).toBe("pass");
      expect((result.details!["declared"] as Array<{ license: string }>).map((d) => d.license)).toEqual(expected);
    }
  });

  it("falls back to a LICENSE file, recognised by its text", async () => {
    const apache =
      "                                 Apache License\n                           Version 2.0, January 2004\n";
    const result = await check({ "README.md": "# no front matter\n", LICENSE: apache }, "licenseCheck", {
      allow: ["Apache-2.0"],
    });
    expect(result).toMatchObject({
      outcome: "pass",
      details: { declared: [{ source: "LICENSE", license: "apache-2.0" }] },
    });
  });

  it("fails a model with no licence, one outside allow, and an unrecognised text under allow", async () => {
    const none = await check({ "config.json": "{}" }, "licenseCheck", { allow: null });
    expect(none.findings[0]!.reason).toMatch(/^no licence declared/);
    const other = await check({ "README.md": README_APACHE }, "licenseCheck", { allow: ["mit"] });
    expect(other.findings).toEqual([{ file: "README.md", reason: "licence apache-2.0 is not in allow = [ mit ]" }]);
    const unknown = await check({ "LICENSE.txt": "You may do what you like." }, "licenseCheck", { allow: ["mit"] });
    expect(unknown.findings[0]!.reason).toMatch(/^licence text not recognised/);
    expect((await check({ "LICENSE.txt": "You may do what you like." }, "licenseCheck", { allow: null })).outcome).toBe(
      "pass",
    );
  });

  it("reads an Ollama model's licence layer", async () => {
    const dir = await writeRawOllama(join(root, "ollama-license"), [
      { mediaType: "application/vnd.ollama.image.model", content: corpus("b7-model.gguf") },
      { mediaType: "application/vnd.ollama.image.license", content: "LLAMA 3.2 COMMUNITY LICENSE AGREEMENT\n..." },
    ]);
    const result = await runCheck("licenseCheck", await openModelView(dir), { allow: ["llama3.2"] });
    expect(result.outcome).toBe("pass");
    expect(result.details).toMatchObject({ declared: [{ license: "llama3.2" }] });
  });
});

describe("params", () => {
  it("refuses unknown and malformed params, naming the field", async () => {
    await expect(check(cleanModelFiles(), "scanner", { failOn: "SAFE" })).rejects.toThrow(
      /scanner\.failOn must be one of "WARN", "INVALID", "MALICIOUS"/,
    );
    await expect(check(cleanModelFiles(), "noPickleFiles", { x: 1 })).rejects.toThrow(/takes no parameters/);
    await expect(check(cleanModelFiles(), "scanner", { limits: { maxBytes: 1 } })).rejects.toThrow(
      /unknown limit maxBytes/,
    );
  });
});
