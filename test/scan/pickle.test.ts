import { describe, expect, it } from "vitest";
import { scanBytes, type FileReport } from "../../src/scan/index.js";
import { classifyImport } from "../../src/scan/policy/classify.js";

/** Hand-assembled pickles: a tiny assembler keeps each case readable as opcodes. */
const latin1 = (text: string) => Buffer.from(text, "latin1");
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const u64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};
const glob = (module: string, name: string) => latin1(`c${module}\n${name}\n`);
const binunicode = (text: string) => Buffer.concat([latin1("X"), u32(Buffer.byteLength(text)), Buffer.from(text)]);
const shortUnicode = (text: string) => Buffer.concat([Buffer.from([0x8c, Buffer.byteLength(text)]), Buffer.from(text)]);
const pickle = (...parts: Array<string | Buffer | number[]>) =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? latin1(p) : Array.isArray(p) ? Buffer.from(p) : p)));

const codes = (report: FileReport) => report.findings.map((f) => f.code);
const scan = (bytes: Uint8Array, name = "test.pkl") => scanBytes(bytes, name);

describe("pickle machine", () => {
  it("understands every opcode of protocols 0-5 used for plain data, and stays SAFE", () => {
    const body = pickle(
      "(", // MARK: the tuple of everything below
      "I01\n",
      "I00\n",
      "I42\n",
      "L123L\n",
      "F1.5\n",
      "J",
      [1, 0, 0, 0],
      "K",
      [7],
      "M",
      [1, 2],
      "N",
      [0x88, 0x89],
      "S'a\\'b\\n'\n",
      "T",
      u32(2),
      "hi",
      "U",
      [2],
      "yo",
      "Vcaf\\u00e9\n",
      binunicode("x"),
      shortUnicode("é"),
      [0x8d],
      u64(3),
      "abc",
      "G",
      Buffer.alloc(8),
      [0x8a, 2, 0xff, 0x7f],
      [0x8b],
      u32(1),
      [0x01],
      "B",
      u32(2),
      "ab",
      "C",
      [1],
      "z",
      [0x8e],
      u64(1),
      "q",
      [0x96],
      u64(1),
      "w",
      [0x98],
      "]",
      "K",
      [1],
      "a",
      "(",
      "K",
      [2],
      "K",
      [3],
      "e",
      "(",
      "K",
      [4],
      "l",
      ")",
      "(",
      "t",
      "p7\n",
      "g7\n",
      [0x85],
      "N",
      "N",
      [0x86],
      "N",
      "N",
      "N",
      [0x87],
      "}",
      "K",
      [1],
      "K",
      [2],
      "s",
      "(",
      "K",
      [3],
      "K",
      [4],
      "u",
      "(",
      "K",
      [5],
      "K",
      [6],
      "d",
      [0x8f],
      "(",
      "K",
      [1],
      [0x90],
      "(",
      "K",
      [2],
      [0x91],
      "q",
      [9],
      "h",
      [9],
      "r",
      u32(10),
      "j",
      u32(10),
      "2",
      "0",
      "(",
      "N",
      "1",
      glob("collections", "OrderedDict"),
      ")",
      "R",
      "}",
      "b",
      "(",
      glob("collections", "OrderedDict"),
      "o",
      "(",
      "icollections\nOrderedDict\n",
      glob("collections", "OrderedDict"),
      ")",
      [0x81],
      shortUnicode("collections"),
      shortUnicode("OrderedDict"),
      [0x93],
      [0x94],
      ")",
      "}",
      [0x92],
      "t",
      ".",
    );
    const bytes = pickle([0x80, 5, 0x95], u64(body.length), body);
    const report = scan(bytes);
    expect(report.findings).toEqual([]);
    expect(report.verdict).toBe("SAFE");
    expect(report.format).toBe("pickle");
    expect(report.imports).toEqual(["collections.OrderedDict"]);
  });

  it("records imports and calls even when the stream breaks right after them", () => {
    const report = scan(pickle(glob("os", "system"), "(S'true'\ntR", [0xff]));
    expect(codes(report)).toEqual(["DENYLISTED_IMPORT", "UNSAFE_CALL", "PICKLE_PARSE_ERROR"]);
    expect(report.verdict).toBe("MALICIOUS");
  });

  it("flags EXT2/EXT4, out-of-band buffers, a second PROTO and nested frames", () => {
    expect(codes(scan(pickle([0x80, 2, 0x83, 1, 0], ")R.")))).toContain("EXT_OPCODE");
    expect(codes(scan(pickle([0x80, 2, 0x84, 1, 0, 0, 0], ")R.")))).toContain("EXT_OPCODE");
    expect(scan(pickle([0x80, 5, 0x97], "."))).toMatchObject({
      verdict: "WARN",
      findings: [{ code: "OUT_OF_BAND_BUFFER" }],
    });
    expect(codes(scan(pickle([0x80, 2], "N0", [0x80, 2], "N.")))).toEqual(["PROTO_MISPLACED"]);
    const nested = pickle([0x80, 4, 0x95], u64(11), [0x95], u64(1), "N", ".");
    expect(codes(scan(nested))).toContain("FRAME_VIOLATION");
  });

  it("reports malformed pickles as INVALID, never as a crash or a clean file", () => {
    const cases: Array<[string, Buffer]> = [
      ["unsupported protocol", pickle([0x80, 6], "N.")],
      ["missing memo entry", pickle([0x80, 2], "h", [5], ".")],
      ["stack underflow", pickle([0x80, 2], "0.")],
      ["missing MARK", pickle([0x80, 2], "t.")],
      ["STACK_GLOBAL on ints", pickle([0x80, 4], "K", [1], "K", [2], [0x93], ".")],
      ["odd DICT", pickle([0x80, 2], "(K", [1], "d.")],
      ["APPEND to a str", pickle([0x80, 2], shortUnicode("s"), "N", "a.")],
      ["negative BINSTRING", pickle([0x80, 2], "T", [0xff, 0xff, 0xff, 0xff], ".")],
      ["unquoted STRING", pickle("Sabc\n.")],
      ["bad INT", pickle("Ixyz\n.")],
      ["truncated BINUNICODE", pickle([0x80, 2], "X", u32(100), "abc")],
      ["FRAME past the end", pickle([0x80, 4, 0x95], u64(1000), "N.")],
    ];
    for (const [label, bytes] of cases) {
      const report = scan(bytes);
      expect(report.verdict, label).toBe("INVALID");
      expect(codes(report), label).toContain("PICKLE_PARSE_ERROR");
    }
  });

  it("applies Python 2 names only below protocol 3, as CPython does", () => {
    const at = (proto: number, module: string, name: string) => scan(pickle([0x80, proto], glob(module, name), "."));
    expect(at(2, "copy_reg", "_reconstructor")).toMatchObject({ verdict: "WARN", imports: ["copyreg._reconstructor"] });
    expect(at(2, "exceptions", "KeyError").verdict).toBe("MALICIOUS"); // builtins.KeyError
    expect(at(3, "exceptions", "KeyError")).toMatchObject({ verdict: "WARN", imports: ["exceptions.KeyError"] });
    expect(at(2, "__builtin__", "set").verdict).toBe("SAFE");
  });

  it("treats a call on a literal as a load failure and mutation of an import as an attack", () => {
    expect(codes(scan(pickle([0x80, 2], "K", [1], ")R.")))).toContain("CALL_ON_LITERAL");
    const injected = scan(pickle([0x80, 2], glob("collections", "OrderedDict"), "K", [1], "K", [2], "s."));
    expect(injected.findings[0]).toMatchObject({ severity: "MALICIOUS", code: "MUTATES_IMPORT" });
  });

  it("keeps to the configured limits", () => {
    const many = pickle([0x80, 2], "(", "N".repeat(100), "t.");
    expect(scanBytes(many, "x.pkl").verdict).toBe("SAFE");
    const limited = scanBytes(many, "x.pkl", { limits: { maxPickleOpcodes: 50 } });
    expect(limited.findings).toContainEqual(expect.objectContaining({ severity: "MALICIOUS", code: "PICKLE_LIMIT" }));
    expect(scanBytes(many, "x.pkl", { limits: { maxPickleStack: 10 } }).verdict).toBe("MALICIOUS");
  });

  it("only treats other files as pickles when they read as one", () => {
    expect(scanBytes(latin1("I am a README.\nNothing to see.\n"), "README.md")).toMatchObject({
      format: "text",
      verdict: "SAFE",
    });
    expect(scanBytes(latin1("[PAD]\n[UNK]\n[CLS]\nhello\n"), "vocab.txt")).toMatchObject({
      format: "text",
      verdict: "SAFE",
    });
    expect(scanBytes(Buffer.from([0x80, 0x02, 0x00, 0x01, 0x02]), "weights.bin").verdict).toBe("SAFE");
    // ...but a file named like a pickle is one, and not parsing is a finding.
    expect(scanBytes(Buffer.from([0x80, 0x02, 0x00, 0x01, 0x02]), "model.pkl").verdict).toBe("INVALID");
  });
});

describe("import policy", () => {
  const safe = [
    ["collections", "OrderedDict"],
    ["torch._utils", "_rebuild_tensor_v2"],
    ["torch", "FloatStorage"],
    ["torch", "bfloat16"],
    ["_codecs", "encode"],
    ["builtins", "set"],
    ["numpy.core.multiarray", "_reconstruct"],
    ["numpy", "dtype"],
    ["numpy.core.numeric", "_frombuffer"],
    ["builtins", "list"],
  ];
  const warn = [
    ["torch.nn.modules.linear", "Linear", "UNKNOWN_IMPORT"],
    ["__main__", "Net", "MAIN_MODULE_IMPORT"],
    ["copyreg", "_reconstructor", "KNOWN_IMPORT"],
    ["transformers.training_args", "TrainingArguments", "UNKNOWN_IMPORT"],
    ["pathlib", "PosixPath", "UNKNOWN_IMPORT"],
    ["argparse", "Namespace", "UNKNOWN_IMPORT"],
  ];
  const malicious = [
    ["os", "system", "DENYLISTED_IMPORT"],
    ["nt", "system", "DENYLISTED_IMPORT"],
    ["builtins", "getattr", "DENYLISTED_IMPORT"],
    ["subprocess", "Popen", "DENYLISTED_IMPORT"],
    ["asyncio.subprocess", "create_subprocess_exec", "DENYLISTED_IMPORT"],
    ["numpy", "__builtins__", "DUNDER_IMPORT"],
    ["__main__", "__builtins__", "DUNDER_IMPORT"],
    ["torch._inductor.codecache", "compile_file", "DENYLISTED_IMPORT"],
    ["sklearn._loss", "X", "PRIVATE_MODULE_IMPORT"],
    ["_io", "FileIO", "DENYLISTED_IMPORT"],
    ["somepkg", "popen", "DANGEROUS_NAME_IMPORT"],
    ["pathlib", "os.system", "DOTTED_IMPORT"],
    ["__torch__.torch.nn.modules.linear", "Linear", "DUNDER_IMPORT"],
    ["torch", "load", "NESTED_LOADER"],
    ["dill", "loads", "NESTED_LOADER"],
    ["os ", "system", "MALFORMED_IMPORT"],
    ["\u043es", "system", "MALFORMED_IMPORT"],
    ["fickling", "x", "DENYLISTED_IMPORT"],
    ["builtins", "bytes.fromhex", "DENYLISTED_IMPORT"],
    ["collections", "OrderedDict.fromkeys", "DOTTED_IMPORT"],
  ];
  it.each(safe)("%s.%s is SAFE", (module, name) => {
    expect(classifyImport(module!, name!).verdict).toBe("SAFE");
  });
  it("lets TorchScript's C++ unpickler have its own classes, and nothing else", () => {
    expect(classifyImport("__torch__.torch.nn.modules.linear", "Linear", false, "torchscript").verdict).toBe("SAFE");
    expect(classifyImport("torch.jit._pickle", "build_intlist", false, "torchscript").verdict).toBe("SAFE");
    expect(classifyImport("torch.jit._pickle", "build_intlist").verdict).toBe("MALICIOUS");
    expect(classifyImport("__torch__", "__builtins__", false, "torchscript").verdict).toBe("MALICIOUS");
    expect(classifyImport("os", "system", false, "torchscript").verdict).toBe("MALICIOUS");
  });
  it.each(warn)("%s.%s is WARN (%s)", (module, name, code) => {
    expect(classifyImport(module!, name!)).toMatchObject({ verdict: "WARN", code });
  });
  it.each(malicious)("%s.%s is MALICIOUS (%s)", (module, name, code) => {
    expect(classifyImport(module!, name!)).toMatchObject({ verdict: "MALICIOUS", code });
  });
});
