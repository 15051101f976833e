import { execFileSync } from "node:child_process";

/**
 * CPython's json module as the judge: documents go to one python3 process, which answers for
 * each whether json.loads accepts it and, if so, the value in a canonical form that says
 * exactly what Python decoded (ints as digits, floats as their IEEE bits, strings as code
 * points, objects as key-sorted pairs). canonical() gives the same form for our values.
 */

export type Canonical =
  | null
  | boolean
  | { i: string }
  | { f: string }
  | { s: number[] }
  | Canonical[]
  | { o: Array<[number[], Canonical]> };

export interface PythonVerdict {
  readonly ok: boolean;
  readonly value?: Canonical;
  readonly error?: string;
}

const ORACLE = `
import base64, json, struct, sys

def canon(v):
    if v is None or v is True or v is False:
        return v
    if isinstance(v, int):
        return {"i": str(v)}
    if isinstance(v, float):
        return {"f": struct.pack(">d", v).hex()}
    if isinstance(v, str):
        return {"s": [ord(c) for c in v]}
    if isinstance(v, list):
        return [canon(x) for x in v]
    return {"o": sorted(([[ord(c) for c in k], canon(x)] for k, x in v.items()), key=lambda p: p[0])}

mode = sys.argv[1]
out = []
for doc in json.load(sys.stdin):
    raw = base64.b64decode(doc)
    try:
        # "text": what open(path, encoding="utf-8") then json.load gives transformers;
        # "bytes": json.loads(bytes), which detects UTF-16/32 and skips a UTF-8 BOM.
        value = json.loads(raw.decode("utf-8") if mode == "text" else raw)
        out.append({"ok": True, "value": canon(value)})
    except (ValueError, RecursionError) as e:
        out.append({"ok": False, "error": type(e).__name__ + ": " + str(e)[:200]})
sys.stdout.write(json.dumps(out))
`;

export function pythonLoads(docs: readonly Uint8Array[], mode: "text" | "bytes" = "text"): PythonVerdict[] {
  const input = JSON.stringify(docs.map((doc) => Buffer.from(doc).toString("base64")));
  const output = execFileSync("python3", ["-c", ORACLE, mode], { input, encoding: "utf8", maxBuffer: 1 << 28 });
  return JSON.parse(output) as PythonVerdict[];
}

/** Python's json.detect_encoding for each input. */
export function pythonDetectEncoding(inputs: readonly Uint8Array[]): string[] {
  const script = `
import base64, json, sys
print(json.dumps([json.detect_encoding(base64.b64decode(b)) for b in json.load(sys.stdin)]))
`;
  const input = JSON.stringify(inputs.map((b) => Buffer.from(b).toString("base64")));
  return JSON.parse(execFileSync("python3", ["-c", script], { input, encoding: "utf8" })) as string[];
}

/** A number kept as its source text, so canonical() can tell ints from floats as Python does. */
export class RawNumber {
  constructor(readonly raw: string) {}
}

export function canonical(value: unknown): Canonical {
  if (value === null || typeof value === "boolean") return value;
  if (value instanceof RawNumber) {
    if (/^-?\d+$/.test(value.raw)) return { i: BigInt(value.raw).toString() };
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, Number(value.raw));
    return { f: view.getBigUint64(0).toString(16).padStart(16, "0") };
  }
  if (typeof value === "string") return { s: [...value].map((ch) => ch.codePointAt(0)!) };
  if (Array.isArray(value)) return value.map(canonical);
  const object = value as Record<string, unknown>;
  const pairs = Object.keys(object).map((key): [number[], Canonical] => [
    [...key].map((ch) => ch.codePointAt(0)!),
    canonical(object[key]),
  ]);
  return { o: pairs.sort(([a], [b]) => compareCodePoints(a, b)) };
}

function compareCodePoints(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * What a loader gets for one top-level member: json.loads(bytes) (the most permissive way
 * Python reads a file: BOM, UTF-16 and UTF-32 accepted), then the member re-encoded as JSON;
 * undefined when Python refuses the document or it has no such member.
 */
export function pythonMember(docs: readonly Uint8Array[], key: string): Array<string | undefined> {
  const script = `
import base64, json, sys
key = sys.argv[1]
out = []
for doc in json.load(sys.stdin):
    try:
        value = json.loads(base64.b64decode(doc))
        out.append(json.dumps(value[key]) if isinstance(value, dict) and key in value else None)
    except (ValueError, RecursionError):
        out.append(None)
print(json.dumps(out))
`;
  const input = JSON.stringify(docs.map((doc) => Buffer.from(doc).toString("base64")));
  const output = execFileSync("python3", ["-c", script, key], { input, encoding: "utf8", maxBuffer: 1 << 28 });
  return (JSON.parse(output) as Array<string | null>).map((member) => member ?? undefined);
}
