import { describe, expect, it } from "vitest";
import { JsonError, Utf8Transcoder, detectJsonEncoding, parseJson, parseJsonChunks } from "../../src/json/index.js";
import { prng } from "../scan/helpers.js";
import { type Canonical, RawNumber, canonical, pythonDetectEncoding, pythonLoads } from "./cpython.js";

/**
 * The scanner must see what Python's json hands a loader, so src/json is compared with CPython
 * itself: a corpus of edge cases and thousands of mutations of it must be accepted and refused
 * alike, and decode to the same values. The one allowed difference is Python's own limit on
 * integer digits (4300), which refuses what any other parser reads.
 */

const utf8 = (text: string) => Buffer.from(text, "utf8");
const bytes = (...parts: Array<string | number[]>) =>
  Buffer.concat(parts.map((part) => (typeof part === "string" ? utf8(part) : Buffer.from(part))));

const CORPUS: readonly Buffer[] = [
  // Accepted by Python.
  utf8("{}"),
  utf8("[]"),
  utf8("0"),
  utf8("-0"),
  utf8("-0.0"),
  utf8("1.5e-3"),
  utf8("1E+2"),
  utf8("1e400"),
  utf8("-1e400"),
  utf8("5e-324"),
  utf8("1e-400"),
  utf8("0.1"),
  utf8("123456789012345678901234567890"),
  utf8("NaN"),
  utf8("Infinity"),
  utf8("-Infinity"),
  utf8("[NaN,Infinity,-Infinity]"),
  utf8(" \t\n\r[1 , 2 ]\r\n "),
  utf8('{"a":{"b":[null,true,false,"x"]}}'),
  utf8('{"a":1,"a":2}'),
  utf8('{"1":1,"b":2,"0":3}'),
  utf8('{"__proto__":{"polluted":1},"constructor":2}'),
  utf8('"\\u00e9\\u00E9"'),
  utf8('"\\ud800"'),
  utf8('"\\udc00\\ud800"'),
  utf8('"\\ud83d\\ude00"'),
  utf8('"\\ud83d\\ud83d\\ude00"'),
  utf8('"a\\/b"'),
  utf8('"\\b\\f\\n\\r\\t\\"\\\\"'),
  utf8('"\\u0000"'),
  utf8('"\\uFEFF"'),
  utf8('"\u007f"'),
  utf8('"é日本😀"'),
  utf8('{"chat\\u005ftemplate":"x","\\u0063\\u0068at_template":"y"}'),
  utf8(`${"[".repeat(200)}${"]".repeat(200)}`),
  utf8('{"":""}'),
  // Refused by Python.
  utf8(""),
  utf8("  "),
  utf8("[1,]"),
  utf8('{"a":1,}'),
  utf8("{a:1}"),
  utf8("{'a':1}"),
  utf8("[01]"),
  utf8("01"),
  utf8("[1.]"),
  utf8("[.5]"),
  utf8("[+1]"),
  utf8("[-]"),
  utf8("[1e]"),
  utf8("[1e+]"),
  utf8("[--1]"),
  utf8("0x10"),
  utf8("1_000"),
  utf8('"\\x41"'),
  utf8('"\\u12"'),
  utf8('"\\u12G4"'),
  utf8('"\\u{41}"'),
  utf8('"\\U0001F600"'),
  utf8('"a\tb"'),
  utf8('"a\nb"'),
  utf8('"\u001f"'),
  utf8("[1] x"),
  utf8("[1]]"),
  utf8("]"),
  utf8("}"),
  utf8('{"a" 1}'),
  utf8('{"a"}'),
  utf8('{"a":}'),
  utf8("{,}"),
  utf8("[,1]"),
  utf8("[1 2]"),
  utf8('{"a":1 "b":2}'),
  utf8("tru"),
  utf8("nul"),
  utf8("True"),
  utf8("nan"),
  utf8("-NaN"),
  utf8("+Infinity"),
  utf8("infinity"),
  utf8("Infinityx"),
  utf8("[1,2"),
  utf8('"abc'),
  utf8("// c\n1"),
  utf8("/**/1"),
  utf8("\f[1]"),
  utf8("\u00a0[1]"),
  utf8("\ufeff[1]"),
  bytes("[1,", [0], "2]"),
  bytes('"', [0xff], '"'),
  bytes('"', [0xc0, 0xaf], '"'),
  bytes('"', [0xed, 0xa0, 0x80], '"'),
  bytes('"', [0xe6, 0x97], '"'),
  bytes('"', [0xf4, 0x90, 0x80, 0x80], '"'),
  bytes([0xe6, 0x97, 0xa5]),
];

/** Parses as the scanner does: Python's extras allowed, numbers kept as written. */
function ours(doc: Uint8Array, split: (length: number) => number[] = (length) => [length]): unknown {
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (const size of split(doc.length)) {
    chunks.push(doc.subarray(at, at + size));
    at += size;
  }
  return parseJsonChunks(chunks, {
    allowNonFinite: true,
    maxDepth: 500,
    number: (raw: string) => new RawNumber(raw),
    nullPrototype: true,
  });
}

type Outcome = { ok: true; value: Canonical } | { ok: false; code: string };

function outcome(parse: () => unknown): Outcome {
  try {
    const parsed = parse();
    expect(parsed, "a document that is not refused has a value").not.toBeUndefined();
    return { ok: true, value: canonical(parsed) };
  } catch (error) {
    if (error instanceof JsonError) return { ok: false, code: error.code };
    throw error;
  }
}

/** Python refuses integers longer than sys.get_int_max_str_digits() (4300); we do not need to. */
const pythonDigitLimit = (error: string | undefined) => error?.includes("integer string conversion") ?? false;

/** Compares every document; returns how many Python accepted. */
function compareWithPython(docs: readonly Uint8Array[], label: (i: number) => string): number {
  const python = pythonLoads(docs);
  docs.forEach((doc, i) => {
    const mine = outcome(() => ours(doc));
    const theirs = python[i]!;
    const what = `${label(i)}: ${JSON.stringify(Buffer.from(doc).toString("latin1").slice(0, 80))}`;
    if (!theirs.ok && pythonDigitLimit(theirs.error)) return;
    expect(mine.ok, `${what}: python says ${theirs.error ?? "ok"}`).toBe(theirs.ok);
    if (mine.ok && theirs.ok) expect(mine.value, what).toEqual(theirs.value);
  });
  return python.filter((verdict) => verdict.ok).length;
}

describe("decoding, compared with CPython's json", () => {
  it("accepts and refuses the edge-case corpus exactly as json.loads does, with equal values", () => {
    expect(compareWithPython(CORPUS, (i) => `corpus #${i}`)).toBe(36);
  });

  it("agrees with json.loads on 3000 mutations of the corpus", () => {
    const random = prng(14);
    const pick = (n: number) => Math.floor(random() * n);
    const pieces = ['"', "\\", "\\u", "{", "}", "[", "]", ":", ",", "-", ".", "e", "0", "9", "N", "I", " ", "\n"];
    const docs: Uint8Array[] = [];
    const any = () => CORPUS[pick(CORPUS.length)]!;
    for (let k = 0; k < 3000; k++) {
      // Half are compositions (valid when their parts are), then zero to two byte-level edits.
      let doc = Buffer.from(any());
      if (random() < 0.5) {
        const parts = Array.from({ length: 1 + pick(3) }, any);
        doc =
          random() < 0.5
            ? Buffer.concat([utf8("["), ...parts.flatMap((p, i) => (i ? [utf8(","), p] : [p])), utf8("]")])
            : Buffer.concat([
                utf8("{"),
                ...parts.flatMap((p, i) => [utf8(`${i ? "," : ""}"k${pick(3)}":`), p]),
                utf8("}"),
              ]);
      }
      for (let round = pick(3); round > 0; round--) {
        const at = pick(doc.length + 1);
        const choice = pick(4);
        if (choice === 0 && doc.length > 0) doc = Buffer.concat([doc.subarray(0, at), doc.subarray(at + 1)]);
        else if (choice === 1)
          doc = Buffer.concat([doc.subarray(0, at), utf8(pieces[pick(pieces.length)]!), doc.subarray(at)]);
        else if (choice === 2) doc = Buffer.concat([doc.subarray(0, at), Buffer.from([pick(256)]), doc.subarray(at)]);
        else doc = Buffer.concat([doc.subarray(0, at), any(), doc.subarray(at)]);
      }
      docs.push(doc);
    }
    const accepted = compareWithPython(docs, (i) => `mutation #${i}`);
    // Both sides of the line are exercised, not only syntax errors.
    expect(accepted).toBeGreaterThan(300);
    expect(accepted).toBeLessThan(2700);
  });

  it("allows the one documented difference: integers past Python's digit limit", () => {
    const huge = utf8(`[${"7".repeat(5000)}]`);
    const [python] = pythonLoads([huge]);
    expect(python!.ok).toBe(false);
    expect(pythonDigitLimit(python!.error)).toBe(true);
    expect(canonical(ours(huge))).toEqual([{ i: "7".repeat(5000) }]);
  });

  it("gives the same result however the input is cut into chunks", () => {
    const random = prng(7);
    for (const doc of CORPUS) {
      const whole = outcome(() => ours(doc));
      const oneByte = outcome(() => ours(doc, (length) => Array.from({ length }, () => 1)));
      const randomCuts = outcome(() =>
        ours(doc, (length) => {
          const sizes: number[] = [];
          for (let left = length; left > 0; ) {
            const size = Math.min(left, 1 + Math.floor(random() * 5));
            sizes.push(size);
            left -= size;
          }
          return sizes;
        }),
      );
      expect(oneByte, Buffer.from(doc).toString("latin1")).toEqual(whole);
      expect(randomCuts, Buffer.from(doc).toString("latin1")).toEqual(whole);
    }
  });
});

describe("encodings, as json.loads(bytes) detects them", () => {
  const doc = '{"chat_template": "{{ x }}", "n": [1, "é😀"]}';
  const encoded: ReadonlyArray<readonly [string, Buffer]> = [
    ["utf-8", utf8(doc)],
    ["utf-8-sig", bytes([0xef, 0xbb, 0xbf], doc)],
    ["utf-16le", Buffer.from(doc, "utf16le")],
    ["utf-16le + BOM", Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(doc, "utf16le")])],
    ["utf-16be + BOM", Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(doc, "utf16le").swap16()])],
    ["utf-16be", Buffer.from(doc, "utf16le").swap16()],
    ["utf-32le", utf32(doc, true, false)],
    ["utf-32be + BOM", utf32(doc, false, true)],
    ["utf-32le + BOM", utf32(doc, true, true)],
  ];

  it("detects the encoding as json.detect_encoding does", () => {
    const heads = [
      ...encoded.map(([, b]) => b.subarray(0, 4)),
      ...[
        [],
        [0x22],
        [0x00, 0x31],
        [0x31, 0x00],
        [0x31, 0x32, 0x00],
        [0x00, 0x00, 0x00, 0x31],
        [0x31, 0x00, 0x00, 0x00],
      ],
      ...[
        [0x31, 0x00, 0x32, 0x00],
        [0x00, 0x31, 0x00, 0x32],
        [0xff, 0xfe, 0x31],
        [0xef, 0xbb],
      ],
    ].map((head) => Uint8Array.from(head));
    const python = pythonDetectEncoding(heads).map((name) => name.replace(/-(?=[lb]e$)/, ""));
    const ourNames = heads.map((head) => detectJsonEncoding(head));
    // Python names a BOM'd UTF-16/32 by family ("utf-16"); we name the byte order the BOM gives.
    expect(ourNames.map((name) => name.replace(/(le|be)$/, ""))).toEqual(
      python.map((name) => name.replace(/(le|be)$/, "").replace(/^(utf-(16|32))$/, "$1")),
    );
  });

  it("decodes every encoding to what Python decodes", () => {
    const python = pythonLoads(
      encoded.map(([, b]) => b),
      "bytes",
    );
    encoded.forEach(([name, input], i) => {
      expect(python[i]!.ok, name).toBe(true);
      const transcoder = new Utf8Transcoder(detectJsonEncoding(input.subarray(0, 4)));
      const chunks = [...input].map((byte) => transcoder.push(Uint8Array.of(byte)));
      chunks.push(transcoder.end());
      expect(canonical(ours(Buffer.concat(chunks))), name).toEqual(python[i]!.value);
    });
  });
});

describe("bounded parse for API replies", () => {
  it("returns what JSON.parse returns for ordinary replies", () => {
    const replies = [
      '[{"type":"file","path":"config.json","size":512,"oid":"a1","lfs":null}]',
      '{"id":"acme/tiny","sha":"0123","siblings":[{"rfilename":"a"}],"private":false,"likes":-1.5e3}',
      '{"__proto__":{"admin":true},"x":"\\ud83d\\ude00"}',
      '"just a string"',
    ];
    for (const reply of replies) {
      expect(parseJson(reply)).toEqual(JSON.parse(reply));
      expect(parseJson(Buffer.from(reply))).toEqual(JSON.parse(reply));
    }
    const polluting = parseJson('{"__proto__":{"admin":true}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(polluting)).toBe(Object.prototype);
    expect(Object.keys(polluting)).toEqual(["__proto__"]);
    expect(({} as Record<string, unknown>)["admin"]).toBeUndefined();
  });

  it("refuses with a stable code, a position and no echo of the input", () => {
    const refuse = (input: string | Uint8Array, options = {}) => {
      try {
        parseJson(input, options);
      } catch (error) {
        expect(error).toBeInstanceOf(JsonError);
        return error as JsonError;
      }
      throw new Error("accepted");
    };
    expect(refuse("[".repeat(1000))).toMatchObject({ code: "JSON_TOO_DEEP", position: 64 });
    expect(refuse("[".repeat(1000), { maxDepth: 3 })).toMatchObject({ code: "JSON_TOO_DEEP", position: 3 });
    expect(refuse("[1] x")).toMatchObject({ code: "JSON_INVALID", position: 4 });
    expect(refuse("<html>")).toMatchObject({
      code: "JSON_INVALID",
      position: 0,
      message: "expected a value, found '<' at byte 0",
    });
    expect(refuse("[NaN]")).toMatchObject({ code: "JSON_INVALID", position: 1 });
    expect(refuse(Buffer.alloc(100, 0x20), { maxBytes: 10 })).toMatchObject({ code: "JSON_TOO_LARGE", position: 10 });
    expect(refuse(`["${"x".repeat(100)}"]`, { maxTextBytes: 50 })).toMatchObject({ code: "JSON_TOO_LARGE" });
    expect(refuse(`[${"[],".repeat(100)}[]]`, { maxValues: 50 })).toMatchObject({ code: "JSON_TOO_LARGE" });
    expect(refuse(bytes('["', [0xff], '"]'))).toMatchObject({ code: "JSON_INVALID", position: 1 });
    // A hostile body is never repeated back: one character at most, control bytes as hex.
    const garbage = refuse(`"${"\u001b[2J".repeat(100_000)}"`);
    expect(garbage.message).toBe("control character in a string (escape it) at byte 1");
    expect(refuse(bytes([0x1b, 0x5b, 0x32, 0x4a])).message).toBe("expected a value, found byte 0x1b at byte 0");
    expect(parseJson("[1e5, -0]", { allowNonFinite: false })).toEqual([100000, -0]);
    expect(parseJson("[NaN, -Infinity]", { allowNonFinite: true })).toEqual([Number.NaN, Number.NEGATIVE_INFINITY]);
  });
});

function utf32(text: string, littleEndian: boolean, bom: boolean): Buffer {
  const points = [...(bom ? "\ufeff" : ""), ...text].map((ch) => ch.codePointAt(0)!);
  const out = Buffer.alloc(points.length * 4);
  points.forEach((point, i) => {
    if (littleEndian) out.writeUInt32LE(point, i * 4);
    else out.writeUInt32BE(point, i * 4);
  });
  return out;
}
