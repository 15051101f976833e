import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FileReport, scanBytes, scanFile } from "../../src/scan/index.js";
import { pythonMember } from "../json/cpython.js";

/**
 * Issue 14, item 4: a JSON file the scanner cannot fully judge is never SAFE, and what it
 * judges is what Python's json module hands the loader (transformers reads tokenizer_config.json
 * and config.json with json.load). Each case here was SAFE before the fix.
 */

const codes = (report: FileReport) => report.findings.map((f) => f.code);
const EVIL = "{{ ''.__class__.__mro__[1].__subclasses__() }}";
const utf8 = (text: string) => Buffer.from(text, "utf8");
const config = (text: string) => scanBytes(utf8(text), "tokenizer_config.json");

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "nmr-scan-json-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("JSON the scanner cannot fully judge is never SAFE", () => {
  it("judges a chat_template behind a 70 MB string, however large the file", async () => {
    const file = join(dir, "tokenizer_config.json");
    await writeFile(file, JSON.stringify({ pad: "x".repeat(70 * 1024 * 1024), chat_template: EVIL }));
    const report = await scanFile(file);
    expect(report).toMatchObject({ format: "json", verdict: "MALICIOUS" });
    expect(codes(report)).toEqual(["CHAT_TEMPLATE_INJECTION"]);
  });

  it("reads keys as a JSON decoder does, escapes included", () => {
    expect(config(`{"chat\\u005ftemplate": ${JSON.stringify(EVIL)}}`).verdict).toBe("MALICIOUS");
    expect(config(`{"\\u0063\\u0068\\u0061\\u0074\\u005F\\u0074emplate": ${JSON.stringify(EVIL)}}`).verdict).toBe(
      "MALICIOUS",
    );
    expect(codes(scanBytes(utf8('{"auto\\u005fmap": {"AutoModel": "m.X"}}'), "config.json"))).toEqual(["REMOTE_CODE"]);
  });

  it("checks chat_template in every shape transformers takes it: string, named list, mapping", () => {
    const evil = JSON.stringify(EVIL);
    expect(config(`{"chat_template": [{"name": "default", "template": ${evil}}]}`).verdict).toBe("MALICIOUS");
    // A mapping of name to template is used as is by get_chat_template (e.g. "default").
    expect(config(`{"chat_template": {"default": ${evil}}}`).verdict).toBe("MALICIOUS");
    expect(
      config('{"chat_template": {"default": "{{ messages }}", "tool_use": "{% for m in messages %}{% endfor %}"}}')
        .verdict,
    ).toBe("SAFE");
  });

  it("flags every shape of auto_map transformers reads, and custom_pipelines", () => {
    // AutoTokenizer takes a list as the legacy form of a tokenizer's auto_map.
    expect(codes(config('{"auto_map": ["tokenization_x.XTokenizer", null]}'))).toEqual(["REMOTE_CODE"]);
    expect(codes(scanBytes(utf8('{"custom_pipelines": {"t": {"impl": "p.P"}}}'), "config.json"))).toEqual([
      "REMOTE_CODE",
    ]);
    expect(config('{"auto_map": {}, "custom_pipelines": null}').verdict).toBe("SAFE");
  });

  it("judges each value of a repeated key, and nested repeats as first-wins parsers read them", () => {
    const evil = JSON.stringify(EVIL);
    // Python keeps the last value; other parsers keep the first. Either one being dangerous counts.
    for (const text of [
      `{"chat_template": ${evil}, "chat_template": "{{ messages }}"}`,
      `{"chat_template": "{{ messages }}", "chat_template": ${evil}}`,
      `{"chat_template": [{"name": "default", "template": ${evil}, "template": "{{ messages }}"}]}`,
    ]) {
      expect(config(text)).toMatchObject({ verdict: "MALICIOUS" });
      expect(codes(config(text))).toContain("JSON_DUPLICATE_KEY");
    }
    const keras = (layer: string) =>
      scanBytes(utf8(`{"class_name": "Sequential", "config": {"layers": [${layer}]}}`), "config.json");
    expect(keras('{"module": "os", "module": "keras.layers", "class_name": "system", "config": {}}').verdict).toBe(
      "MALICIOUS",
    );
  });

  it("reads a .json file as JSON even when its bytes are also something else", () => {
    // 512 bytes of JSON that are also a valid tar header (v7 tar needs only a checksum): the tar
    // reading used to win, and the template Python loads from it was never looked at.
    const doc = Buffer.alloc(512, "a");
    doc.write(`{"chat_template": ${JSON.stringify(EVIL)}, "pad": "`, 0, "latin1");
    doc.write('"}', 510, "latin1");
    doc.write("00000000000 ", 124, "latin1"); // size 0
    doc.write("0", 156, "latin1"); // a regular file
    doc.write("        ", 148, "latin1");
    const sum = doc.reduce((total, byte) => total + byte, 0);
    doc.write(`${sum.toString(8).padStart(7, "0")} `, 148, "latin1");
    expect(pythonMember([doc], "chat_template")[0]).toContain("__class__");
    const report = scanBytes(doc, "tokenizer_config.json");
    expect(report.format).toBe("tar");
    expect(report.verdict).toBe("MALICIOUS");
    expect(codes(report)).toEqual(["CHAT_TEMPLATE_INJECTION", "POLYGLOT"]);
  });

  it("finds Keras objects by decoded keys, under a top-level array too", () => {
    const lambda = '{"class\\u005fname": "__lambda__", "config": {}}';
    expect(codes(scanBytes(utf8(`{"config": {"layers": [${lambda}]}}`), "model.json"))).toContain(
      "KERAS_LAMBDA_BYTECODE",
    );
    expect(codes(scanBytes(utf8(`[${lambda}]`), "layers.json"))).toContain("KERAS_LAMBDA_BYTECODE");
  });

  it("judges UTF-16 and non-UTF-8 files as Python decodes them, and says so", () => {
    const doc = JSON.stringify({ chat_template: EVIL });
    const utf16 = scanBytes(Buffer.from(doc, "utf16le"), "tokenizer_config.json");
    expect(utf16.verdict).toBe("MALICIOUS");
    expect(codes(utf16)).toEqual(["CHAT_TEMPLATE_INJECTION", "JSON_NOT_UTF8"]);
    // An encoded surrogate: json.loads(bytes) accepts it ("surrogatepass"), strict UTF-8 does not.
    const surrogate = Buffer.concat([utf8(`{"x": "`), Buffer.from([0xed, 0xa0, 0x80]), utf8(`", ${doc.slice(1)}`)]);
    expect(codes(scanBytes(surrogate, "tokenizer_config.json"))).toEqual(["CHAT_TEMPLATE_INJECTION", "JSON_NOT_UTF8"]);
  });

  it("is MALICIOUS wherever CPython's json.loads hands a loader the dunder template", () => {
    const evil = JSON.stringify(EVIL);
    const variants: Array<[string, Buffer]> = [
      ["plain", utf8(`{"chat_template": ${evil}}`)],
      ["escaped key", utf8(`{"chat\\u005ftemplate": ${evil}}`)],
      ["escaped template", utf8('{"chat_template": "{{ \'\'.\\u005f\\u005fclass\\u005f\\u005f }}"}')],
      ["NaN and Infinity beside it", utf8(`{"a": NaN, "b": [-Infinity, Infinity], "chat_template": ${evil}}`)],
      ["lone surrogate escapes beside it", utf8(`{"a": "\\ud800\\udc00\\udfff", "chat_template": ${evil}}`)],
      ["UTF-8 BOM", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8(`{"chat_template": ${evil}}`)])],
      ["UTF-16LE", Buffer.from(`{"chat_template": ${evil}}`, "utf16le")],
      ["UTF-16BE", Buffer.from(`{"chat_template": ${evil}}`, "utf16le").swap16()],
      ["UTF-16 with BOM", Buffer.from(`\ufeff{"chat_template": ${evil}}`, "utf16le")],
      [
        "UTF-32LE",
        Buffer.from(Uint32Array.from([...`{"chat_template": ${evil}}`].map((c) => c.codePointAt(0)!)).buffer),
      ],
      ["evil first of two", utf8(`{"chat_template": ${evil}, "chat_template": ${evil}}`)],
      ["nested 200 deep beside it", utf8(`{"a": ${"[".repeat(200)}${"]".repeat(200)}, "chat_template": ${evil}}`)],
      ["huge numbers beside it", utf8(`{"a": 1e999, "b": -${"9".repeat(4000)}, "chat_template": ${evil}}`)],
      ["named templates", utf8(`{"chat_template": [{"name": "tool_use", "template": ${evil}}]}`)],
      ["odd whitespace", utf8(`\r\n\t{\r\n\t"chat_template"\r\n\t:\r\n\t${evil}\r\n\t}\r\n\t`)],
      [
        "after many members",
        utf8(
          `{${Array.from({ length: 50_000 }, (_, i) => `"k${i}": [${i}, "v"]`).join(", ")}, "chat_template": ${evil}}`,
        ),
      ],
    ];
    const loaded = pythonMember(
      variants.map(([, doc]) => doc),
      "chat_template",
    );
    variants.forEach(([name, doc], i) => {
      expect(loaded[i], `${name}: Python loads the template`).toContain("__class__");
      expect(scanBytes(doc, "tokenizer_config.json").verdict, name).toBe("MALICIOUS");
    });
  });
});

describe("chat templates", () => {
  it("catches every spelling of '_' that Jinja's string literals decode", () => {
    const templates = [
      "{{ ''['\\N{LOW LINE}\\N{LOW LINE}class\\N{LOW LINE}\\N{LOW LINE}'] }}",
      "{{ ''['\\U0000005f\\U0000005fclass\\U0000005f\\U0000005f'] }}",
      "{{ ''['\\x5f\\x5fclass\\x5f\\x5f'] }}",
      "{{ ''['\\137\\137class\\137\\137'] }}",
    ];
    // Jinja itself (unsandboxed, as llama-cpp-python before 0.2.72) reaches the class with each.
    const rendered = execFileSync(
      "python3",
      [
        "-c",
        "import jinja2, json, sys\nfor t in json.load(sys.stdin): print(jinja2.Environment().from_string(t).render())",
      ],
      { input: JSON.stringify(templates), encoding: "utf8" },
    );
    expect(rendered.trim().split("\n")).toEqual(templates.map(() => "<class 'str'>"));
    for (const template of templates) {
      expect(config(JSON.stringify({ chat_template: template })).verdict, template).toBe("MALICIOUS");
    }
  });
});

describe("the rest of a JSON file's handling", () => {
  it("treats content that only looks like JSON as text, and broken .json files as unverified", () => {
    expect(scanBytes(utf8('[tool.poetry]\nname = "x"\n'), "pyproject.toml")).toMatchObject({
      format: "text",
      verdict: "SAFE",
    });
    expect(codes(scanBytes(utf8('{"model": {"vocab": {"a": 1,}}}'), "tokenizer.json"))).toEqual(["JSON_PARSE_ERROR"]);
    expect(scanBytes(Buffer.alloc(0), "added_tokens.json")).toMatchObject({ format: "json", verdict: "SAFE" });
    expect(codes(scanBytes(Buffer.alloc(0), "config.json"))).toEqual(["JSON_PARSE_ERROR"]);
  });

  it("refuses a chat_template or template file too large to hold, instead of reading part of it", async () => {
    const limits = { maxJsonBytes: 1000 };
    const long = JSON.stringify({ chat_template: `${" ".repeat(2000)}${EVIL}` });
    expect(codes(scanBytes(utf8(long), "tokenizer_config.json", { limits }))).toEqual(["LIMIT_EXCEEDED"]);
    // A .jinja file was read only up to 4 MiB: injection past that went unseen.
    const template = join(dir, "chat_template.jinja");
    await writeFile(template, `${"{# padding #}\n".repeat(400_000)}${EVIL}`);
    expect((await scanFile(template)).verdict).toBe("MALICIOUS");
    expect(codes(await scanFile(template, { limits }))).toEqual(["LIMIT_EXCEEDED"]);
  });

  it("reads an HDF5 Keras config to its end, past the old 16 MiB window", () => {
    const layers = [
      { class_name: "Dense", config: { name: "x".repeat(17 * 1024 * 1024) } },
      { module: "os", class_name: "system", config: {} },
    ];
    const h5 = Buffer.concat([
      Buffer.from("\x89HDF\r\n\x1a\n", "latin1"),
      Buffer.alloc(64),
      utf8(JSON.stringify({ class_name: "Sequential", config: { layers } })),
      Buffer.alloc(64),
    ]);
    expect(scanBytes(h5, "model.h5")).toMatchObject({
      verdict: "MALICIOUS",
      findings: [{ code: "KERAS_UNSAFE_MODULE" }],
    });
  });
});
