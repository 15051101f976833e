import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { scanBytes, type FileReport } from "../../src/scan/index.js";
import { CORPUS_DIR, zipOf } from "./helpers.js";

const codes = (report: FileReport) => report.findings.map((f) => f.code);
const m1 = readFileSync(join(CORPUS_DIR, "m1-os-system-proto0.pkl"));

function safetensors(headerText: string, data: Buffer): Buffer {
  const padded = headerText + " ".repeat((8 - (Buffer.byteLength(headerText) % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(padded)));
  return Buffer.concat([length, Buffer.from(padded), data]);
}

describe("safetensors", () => {
  const tensor = (extra = "") => `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]${extra}}}`;

  it("accepts a valid file, including an empty one and space padding", () => {
    expect(scanBytes(safetensors(tensor(), Buffer.alloc(8)), "m.safetensors")).toMatchObject({
      format: "safetensors",
      verdict: "SAFE",
    });
    expect(scanBytes(safetensors("{}", Buffer.alloc(0)), "m.safetensors").verdict).toBe("SAFE");
  });

  it("rejects headers the reference implementation or a stricter reading refuses", () => {
    const bad: Array<[string, Buffer, string]> = [
      ["not an object", safetensors("[]", Buffer.alloc(0)), "SAFETENSORS_BAD_HEADER"],
      ["text after the JSON", safetensors(`${tensor()}x`, Buffer.alloc(8)), "SAFETENSORS_BAD_HEADER"],
      [
        "fractional shape",
        safetensors(`{"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}`, Buffer.alloc(8)),
        "SAFETENSORS_BAD_TENSOR",
      ],
      [
        "negative offset",
        safetensors(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}`, Buffer.alloc(8)),
        "SAFETENSORS_BAD_TENSOR",
      ],
      [
        "offsets past 2^53",
        safetensors(
          `{"a":{"dtype":"U8","shape":[9007199254740993],"data_offsets":[0,9007199254740993]}}`,
          Buffer.alloc(8),
        ),
        "SAFETENSORS_TRUNCATED",
      ],
      [
        "three offsets",
        safetensors(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}}`, Buffer.alloc(8)),
        "SAFETENSORS_BAD_TENSOR",
      ],
      [
        "nested duplicate key",
        safetensors(`{"a":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, Buffer.alloc(8)),
        "SAFETENSORS_DUPLICATE_KEY",
      ],
      [
        "bad UTF-8",
        Buffer.concat([
          Buffer.from([8, 0, 0, 0, 0, 0, 0, 0]),
          Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x20, 0x20, 0x20, 0x20]),
        ]),
        "SAFETENSORS_BAD_HEADER",
      ],
      ["shorter than 8 bytes", Buffer.from([1, 2, 3]), "SAFETENSORS_TRUNCATED"],
    ];
    for (const [label, bytes, code] of bad) {
      const report = scanBytes(bytes, "m.safetensors");
      expect(report.verdict, label).toBe("INVALID");
      expect(codes(report), label).toContain(code);
    }
  });

  it("goes by content first: a misnamed torch zip is a torch zip, junk named .safetensors is invalid", () => {
    const torchZip = readFileSync(join(CORPUS_DIR, "b2-state-dict.pt"));
    expect(scanBytes(torchZip, "model.safetensors")).toMatchObject({
      format: "pytorch-zip",
      verdict: "SAFE",
      findings: [],
    });
    expect(scanBytes(Buffer.from("not a model\n"), "model.safetensors")).toMatchObject({
      format: "safetensors",
      verdict: "INVALID",
    });
    expect(scanBytes(Buffer.from("not a model\n"), "model.gguf")).toMatchObject({ format: "gguf", verdict: "INVALID" });
  });

  it("warns about fields it does not know", () => {
    const report = scanBytes(safetensors(tensor(',"strides":[1]'), Buffer.alloc(8)), "m.safetensors");
    expect(report).toMatchObject({ verdict: "WARN", findings: [{ code: "SAFETENSORS_UNKNOWN_FIELD" }] });
  });
});

describe("GGUF", () => {
  const str = (s: string, le = true) => {
    const b = Buffer.alloc(8);
    if (le) b.writeBigUInt64LE(BigInt(Buffer.byteLength(s)));
    else b.writeBigUInt64BE(BigInt(Buffer.byteLength(s)));
    return Buffer.concat([b, Buffer.from(s)]);
  };
  const u32 = (n: number, le = true) => {
    const b = Buffer.alloc(4);
    if (le) b.writeUInt32LE(n);
    else b.writeUInt32BE(n);
    return b;
  };
  const u64 = (n: number, le = true) => {
    const b = Buffer.alloc(8);
    if (le) b.writeBigUInt64LE(BigInt(n));
    else b.writeBigUInt64BE(BigInt(n));
    return b;
  };
  type Kv = [string, number, Buffer];
  type Tensor = [string, number[], number, number];
  function gguf(kvs: Kv[], tensors: Tensor[], { le = true, version = 3, alignment = 32, data = 64 } = {}): Buffer {
    const parts: Buffer[] = [Buffer.from("GGUF"), u32(version, le), u64(tensors.length, le), u64(kvs.length, le)];
    for (const [key, type, value] of kvs) parts.push(str(key, le), u32(type, le), value);
    for (const [name, dims, type, offset] of tensors) {
      parts.push(str(name, le), u32(dims.length, le), ...dims.map((d) => u64(d, le)), u32(type, le), u64(offset, le));
    }
    const header = Buffer.concat(parts);
    return Buffer.concat([
      header,
      Buffer.alloc((alignment - (header.length % alignment)) % alignment),
      Buffer.alloc(data),
    ]);
  }
  const arch: Kv = ["general.architecture", 8, str("llama")];

  it("accepts little- and big-endian files", () => {
    expect(scanBytes(gguf([arch], [["t", [4], 0, 0]]), "m.gguf")).toMatchObject({ format: "gguf", verdict: "SAFE" });
    const be = gguf([["general.architecture", 8, str("llama", false)]], [["t", [4], 0, 0]], { le: false });
    expect(scanBytes(be, "m.gguf").verdict).toBe("SAFE");
  });

  it("rejects malformed headers", () => {
    const bad: Array<[string, Buffer]> = [
      ["version 1", gguf([arch], [], { version: 1 })],
      ["unknown value type", gguf([arch, ["x", 13, Buffer.alloc(4)]], [])],
      ["bool 2", gguf([arch, ["x", 7, Buffer.from([2])]], [])],
      ["alignment 3", gguf([arch, ["general.alignment", 4, u32(3)]], [])],
      ["duplicate key", gguf([arch, arch], [])],
      ["unknown tensor type", gguf([arch], [["t", [4], 4, 0]])],
      [
        "misaligned tensor",
        gguf(
          [arch],
          [
            ["t", [4], 0, 0],
            ["u", [4], 0, 16],
          ],
        ),
      ],
      ["tensor past the end", gguf([arch], [["t", [1024], 0, 0]])],
      ["Q4_0 row not a block multiple", gguf([arch, ["general.quantization_version", 4, u32(2)]], [["t", [10], 2, 0]])],
      [
        "overlapping tensors",
        gguf(
          [arch],
          [
            ["t", [4], 0, 0],
            ["u", [4], 0, 0],
          ],
        ),
      ],
      ["five dimensions", gguf([arch], [["t", [1, 1, 1, 1, 1], 0, 0]])],
    ];
    for (const [label, bytes] of bad) {
      const report = scanBytes(bytes, "m.gguf");
      expect(report.verdict, label).toBe("INVALID");
      expect(codes(report), label).toContain("GGUF_MALFORMED");
    }
  });

  it("checks every chat template, including named ones", () => {
    const template = (key: string, text: string) => gguf([arch, [key, 8, str(text)]], []);
    const benign = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}{% endfor %}";
    expect(scanBytes(template("tokenizer.chat_template", benign), "m.gguf").verdict).toBe("SAFE");
    for (const attack of [
      "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
      "{{ ''|attr('\\x5f\\x5fclass\\x5f\\x5f') }}",
      "{% import 'os' as os %}",
    ]) {
      const report = scanBytes(template("tokenizer.chat_template.tool_use", attack), "m.gguf");
      expect(report.verdict, attack).toBe("MALICIOUS");
      expect(codes(report)).toContain("CHAT_TEMPLATE_INJECTION");
    }
  });

  it("warns about quantized tensors without a quantization version and a missing architecture", () => {
    expect(codes(scanBytes(gguf([arch], [["t", [32], 2, 0]]), "m.gguf"))).toEqual(["GGUF_NO_QUANTIZATION_VERSION"]);
    expect(codes(scanBytes(gguf([], []), "m.gguf"))).toEqual(["GGUF_NO_ARCHITECTURE"]);
  });
});

describe("NumPy, Keras, JSON and text", () => {
  function npy(descr: string, shape: string, data: Buffer): Buffer {
    let dict = `{'descr': ${descr}, 'fortran_order': False, 'shape': ${shape}, }`;
    dict += `${" ".repeat(63 - ((10 + dict.length) % 64))}\n`;
    const head = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]);
    head.writeUInt16LE(dict.length, 8);
    return Buffer.concat([head, Buffer.from(dict, "latin1"), data]);
  }

  it("sizes numeric arrays and unpickles object fields, structured ones included", () => {
    expect(scanBytes(npy("'<f4'", "(2, 3)", Buffer.alloc(24)), "a.npy").verdict).toBe("SAFE");
    expect(codes(scanBytes(npy("'<f4'", "(2, 3)", Buffer.alloc(20)), "a.npy"))).toEqual(["NPY_TRUNCATED"]);
    expect(scanBytes(npy("[('a', '<i4'), ('b', '|O')]", "(1,)", m1), "a.npy").verdict).toBe("MALICIOUS");
    expect(scanBytes(npy("[('a', '<i4'), ('b', '<f8', (2,))]", "(2,)", Buffer.alloc(40)), "a.npy").verdict).toBe(
      "SAFE",
    );
    expect(codes(scanBytes(npy("'<f4'", "'nope'", Buffer.alloc(4)), "a.npy"))).toEqual(["NPY_MALFORMED"]);
  });

  it("checks Keras configs for modules and functions", () => {
    const config = (layer: object) =>
      Buffer.from(JSON.stringify({ class_name: "Sequential", config: { layers: [layer] } }));
    const custom = { module: "my_layers", class_name: "Fancy", config: {} };
    expect(scanBytes(config(custom), "config.json")).toMatchObject({
      verdict: "WARN",
      findings: [{ code: "KERAS_CUSTOM_OBJECT" }],
    });
    const exec = { module: "builtins", class_name: "function", config: "exec", registered_name: "function" };
    expect(scanBytes(config(exec), "config.json").findings[0]).toMatchObject({
      severity: "MALICIOUS",
      code: "KERAS_UNSAFE_MODULE",
    });
    const keras = zipOf([
      { name: "metadata.json", data: Buffer.from("{}") },
      { name: "config.json", data: config({ module: "os", class_name: "system", config: {} }), method: 8 },
    ]);
    expect(scanBytes(keras, "m.keras")).toMatchObject({ format: "keras", verdict: "MALICIOUS" });
  });

  it("flags remote code, template files and duplicate keys in JSON", () => {
    const auto = Buffer.from(JSON.stringify({ model_type: "x", auto_map: { AutoModel: "modeling_x.XModel" } }));
    expect(scanBytes(auto, "config.json")).toMatchObject({ verdict: "WARN", findings: [{ code: "REMOTE_CODE" }] });
    expect(scanBytes(Buffer.from("{{ self.__init__.__globals__ }}"), "chat_template.jinja").verdict).toBe("MALICIOUS");
    expect(codes(scanBytes(Buffer.from('{"a": 1, "a": 2, "auto_map": null}'), "config.json"))).toEqual([
      "JSON_DUPLICATE_KEY",
    ]);
    expect(codes(scanBytes(Buffer.from('{"a": '), "config.json"))).toEqual(["JSON_PARSE_ERROR"]);
    expect(scanBytes(Buffer.from('{"vocab": {"a": 1}}'), "tokenizer.json")).toMatchObject({
      format: "json",
      verdict: "SAFE",
    });
  });

  it("names other content without judging it", () => {
    expect(scanBytes(Buffer.alloc(0), "empty")).toMatchObject({ format: "empty", verdict: "SAFE", findings: [] });
    expect(scanBytes(Buffer.from([0x0a, 0x05, 0x00, 0x01, 0xfe, 0x00]), "tokenizer.model")).toMatchObject({
      format: "unknown",
      verdict: "SAFE",
      findings: [{ code: "UNKNOWN_FORMAT", severity: "INFO" }],
    });
    expect(scanBytes(Buffer.from([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0, 4]), "a.7z")).toMatchObject({
      verdict: "WARN",
      format: "7z",
    });
  });
});

describe("zip archives", () => {
  it("scans every member by content, whatever its name", () => {
    const report = scanBytes(
      zipOf([
        { name: "a.txt", data: Buffer.from("hi") },
        { name: "b.bin", data: m1, method: 8 },
      ]),
      "x.zip",
    );
    expect(report).toMatchObject({ format: "zip", verdict: "MALICIOUS" });
    expect(report.findings[0]?.member).toBe("b.bin");
  });

  it("reports bad CRCs and unsupported methods per member", () => {
    const crc = scanBytes(zipOf([{ name: "x.txt", data: Buffer.from("hello"), crc: 1 }]), "x.zip");
    expect(crc).toMatchObject({ verdict: "INVALID", findings: [{ code: "ZIP_BAD_CRC" }] });
    const bzip2 = scanBytes(zipOf([{ name: "x.pkl", data: Buffer.from("BZh9"), method: 12 }]), "x.zip");
    expect(codes(bzip2)).toContain("ARCHIVE_MEMBER_UNREADABLE");
  });

  it("reads a torch archive's data.pkl and checks its storages exist", () => {
    expect(scanBytes(readFileSync(join(CORPUS_DIR, "b2-state-dict.pt")), "m.pt").verdict).toBe("SAFE");
    // _rebuild_tensor_v2(persistent_load(("storage", FloatStorage, "0", "cpu", 4)), 0, (4,), (1,), False, OrderedDict())
    const dataPkl = Buffer.concat([
      Buffer.from([0x80, 0x02]),
      Buffer.from(
        "ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000",
        "latin1",
      ),
      Buffer.from("X\x03\x00\x00\x00cpuK\x04tQK\x00K\x04\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtR.", "latin1"),
    ]);
    const complete = zipOf([
      { name: "archive/data.pkl", data: dataPkl },
      { name: "archive/data/0", data: Buffer.alloc(16) },
      { name: "archive/version", data: Buffer.from("3\n") },
    ]);
    expect(scanBytes(complete, "m.pt")).toMatchObject({ format: "pytorch-zip", verdict: "SAFE", findings: [] });
    const missing = zipOf([
      { name: "archive/data.pkl", data: dataPkl },
      { name: "archive/version", data: Buffer.from("3\n") },
    ]);
    expect(scanBytes(missing, "m.pt")).toMatchObject({
      format: "pytorch-zip",
      verdict: "INVALID",
      findings: [{ code: "TORCH_MISSING_STORAGE" }],
    });
  });
});
