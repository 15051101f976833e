import { execFileSync } from "node:child_process";
import { rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JsonArrayStream, JsonEntryStream, JsonError } from "../../src/json/index.js";
import { bundle } from "../scan/helpers.js";

function feed(stream: { write(chunk: Uint8Array): void }, text: string, size = 3): void {
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length; at += size) stream.write(bytes.subarray(at, at + size));
}

describe("JsonArrayStream", () => {
  it("hands over the elements of a top-level array one at a time", () => {
    const seen: Array<[unknown, number]> = [];
    const stream = new JsonArrayStream({ onElement: (value, index) => seen.push([value, index]) });
    feed(stream, '[{"path": "a", "size": 1}, 2, "x\\u00e9", [1, [2]], null, {"__proto__": 1}]');
    expect(stream.end()).toEqual({ elements: 6, rest: {} });
    expect(seen).toEqual([
      [{ path: "a", size: 1 }, 0],
      [2, 1],
      ["xé", 2],
      [[1, [2]], 3],
      [null, 4],
      [JSON.parse('{"__proto__": 1}'), 5],
    ]);
  });

  it("streams the array under one member and returns the others", () => {
    const paths: unknown[] = [];
    const stream = new JsonArrayStream({ at: "files", onElement: (value) => paths.push(value) });
    feed(stream, '{"next": "tok", "files": [{"p": 1}, {"p": 2}], "count": 2}', 1);
    expect(stream.end()).toEqual({ elements: 2, rest: { next: "tok", count: 2 } });
    expect(paths).toEqual([{ p: 1 }, { p: 2 }]);
  });

  it("refuses documents of the wrong shape with JSON_INVALID", () => {
    const shape = (text: string, at?: string) => {
      const stream = new JsonArrayStream({ ...(at ? { at } : {}), onElement: () => {} });
      try {
        feed(stream, text);
        stream.end();
      } catch (error) {
        return (error as JsonError).code;
      }
      return "accepted";
    };
    expect(shape('{"a": 1}')).toBe("JSON_INVALID");
    expect(shape('"x"')).toBe("JSON_INVALID");
    expect(shape("[1, 2")).toBe("JSON_INVALID");
    expect(shape("[1, 2]", "files")).toBe("JSON_INVALID");
    expect(shape('{"files": {"a": 1}}', "files")).toBe("JSON_INVALID");
    expect(shape('{"files": [1], "files": [2]}', "files")).toBe("JSON_INVALID");
    expect(shape('{"other": 1}', "files")).toBe("accepted");
  });

  it("caps each element, not the stream", () => {
    let count = 0;
    const ok = new JsonArrayStream({ maxValues: 3, onElement: () => count++ });
    feed(ok, `[${Array.from({ length: 1000 }, () => "[1, 2]").join(",")}]`);
    expect(ok.end().elements).toBe(1000);
    const tooBig = new JsonArrayStream({ maxValues: 3, onElement: () => {} });
    expect(() => feed(tooBig, "[[1, 2, 3]]")).toThrow(expect.objectContaining({ code: "JSON_TOO_LARGE" }));
    const deep = new JsonArrayStream({ onElement: () => {} });
    expect(() => feed(deep, "[".repeat(100))).toThrow(expect.objectContaining({ code: "JSON_TOO_DEEP", position: 64 }));
  });
});

describe("JsonEntryStream", () => {
  it("builds only the selected members and reports every other key", () => {
    const entries: Array<[string, unknown]> = [];
    const others: string[] = [];
    const stream = new JsonEntryStream({
      select: (key) => key.startsWith("want"),
      onEntry: (key, value) => entries.push([key, value]),
      onOtherKey: (key) => others.push(key),
    });
    feed(stream, '{"skip": {"inner": [{"deep": "x"}]}, "want\\u005fa": [1, {"b": 2}], "want": 3, "want": 4}');
    stream.end();
    expect(entries).toEqual([
      ["want_a", [1, { b: 2 }]],
      ["want", 3],
      ["want", 4],
    ]);
    expect(others).toEqual(["inner", "deep"]);
  });

  it("checks skipped values fully, without keeping their text", () => {
    const skipAll = () => new JsonEntryStream({ select: () => false, onEntry: () => {}, maxTextBytes: 4 });
    const long = skipAll();
    feed(long, `{"pad": "${"x".repeat(10_000)}", "n": ${"9".repeat(10_000)}}`);
    long.end();
    const broken = skipAll();
    expect(() => feed(broken, '{"pad": "\\q"}')).toThrow(JsonError);
  });
});

/**
 * Memory, measured in a child process (node --expose-gc) so that the heap holds nothing but
 * the parse: figures are heap bytes after a full GC, compared within the same run.
 */
describe("memory", () => {
  let script: string;

  beforeAll(async () => {
    const library = await bundle("src/json/index.ts", "json.mjs");
    script = join(dirname(library), "probe.mjs");
    await writeFile(
      script,
      `import { JsonArrayStream, parseJson } from ${JSON.stringify(library)};
const [mode, count] = [process.argv[2], Number(process.argv[3])];
const heap = () => { globalThis.gc(); return process.memoryUsage().heapUsed; };
if (mode === "deep") {
  const body = Buffer.alloc(32 * 1024 * 1024, "[");
  const before = heap();
  let position = -1;
  try { parseJson(body); } catch (error) { position = error.position; }
  console.log(JSON.stringify({ position, growth: heap() - before }));
} else {
  const kept = [];
  let atTenth = 0;
  const stream = new JsonArrayStream({ onElement: (entry, index) => {
    if (mode === "keep" || entry.path.endsWith("/file-77777.bin")) kept.push(entry);
    if (index === count / 10) atTenth = heap();
  } });
  const entry = (i) => JSON.stringify({ type: "file", path: "dir/file-" + String(i).padStart(5, "0") + ".bin",
    size: i * 1024, oid: "0123456789abcdef0123456789abcdef01234567",
    lfs: { oid: "f".repeat(64), size: i * 1024, pointerSize: 134 } });
  let bytes = 0;
  stream.write(Buffer.from("["));
  for (let i = 0; i < count; i += 100) {
    const piece = Array.from({ length: 100 }, (_, k) => entry(i + k)).join(",") + (i + 100 < count ? "," : "]");
    bytes += piece.length;
    stream.write(Buffer.from(piece));
  }
  stream.end();
  console.log(JSON.stringify({ bytes, kept: kept.length, growth: heap() - atTenth }));
}
`,
    );
  }, 60_000);

  afterAll(async () => {
    await rm(dirname(script), { recursive: true, force: true });
  });

  const probe = (...args: string[]) =>
    JSON.parse(execFileSync(process.execPath, ["--expose-gc", script, ...args], { encoding: "utf8" })) as {
      position: number;
      growth: number;
      bytes: number;
      kept: number;
    };

  it("refuses 32 MiB of '[' at the 65th byte, holding nothing", () => {
    const { position, growth } = probe("deep");
    expect(position).toBe(64);
    expect(growth).toBeLessThan(1024 * 1024);
  });

  it("streams a 45 MB listing in flat memory; keeping the entries instead shows up", () => {
    const filtered = probe("filter", "200000");
    expect(filtered.bytes).toBeGreaterThan(45_000_000);
    expect(filtered.kept).toBe(1);
    // The same listing with every entry kept grows the heap by tens of MiB: the probe sees it.
    const kept = probe("keep", "200000");
    expect(kept.kept).toBe(200_000);
    expect(kept.growth).toBeGreaterThan(40 * 1024 * 1024);
    expect(filtered.growth).toBeLessThan(4 * 1024 * 1024);
  });
});
