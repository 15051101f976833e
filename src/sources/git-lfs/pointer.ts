/**
 * Git LFS pointer files (git-lfs docs/spec.md, lfs/pointer.go): UTF-8 `key value\n'
 * lines, `version` first, the other keys sorted, under 1024 bytes:
 *
 *   version https://git-lfs.github.com/spec/v1
 *   oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393
 *   size 12345
 *
 * A blob that starts like a pointer but is not a valid one is an error, not a regular
 * file: keeping it would put a pointer's text where the weights should be. Pointers
 * with extensions (`ext-N-name` lines) are refused: their content must be run through
 * programs we do not have.
 */
import { MAX_FILE_BYTES } from "../../transfer/preflight.js";

export const MAX_POINTER_BYTES = 1024;

const VERSIONS = ["https://git-lfs.github.com/spec/v1", "https://hawser.github.com/spec/v1", "http://git-media.io/v/2"];
/** The engine's rule for any listed size (src/transfer/preflight.ts), applied where the pointer is read. */
const MAX_SIZE = MAX_FILE_BYTES;

export interface LfsPointer {
  readonly oid: string;
  readonly size: number;
}

export type PointerReading =
  | { readonly kind: "pointer"; readonly pointer: LfsPointer }
  | { readonly kind: "not-a-pointer" }
  | { readonly kind: "invalid"; readonly why: string };

export function readPointer(content: Uint8Array): PointerReading {
  if (content.length === 0 || content.length >= MAX_POINTER_BYTES) return { kind: "not-a-pointer" };
  const text = Buffer.from(content).toString("utf8");
  if (!VERSIONS.some((version) => text.startsWith(`version ${version}\n`))) return { kind: "not-a-pointer" };
  const invalid = (why: string): PointerReading => ({ kind: "invalid", why });
  if (!Buffer.from(text, "utf8").equals(Buffer.from(content))) return invalid("it is not valid UTF-8");
  if (!text.endsWith("\n")) return invalid("it does not end with a newline");
  const lines = text.slice(0, -1).split("\n");
  const fields = new Map<string, string>();
  let previousKey = "";
  for (const [index, line] of lines.entries()) {
    const space = line.indexOf(" ");
    if (space <= 0) return invalid(`line ${index + 1} is not "key value"`);
    const key = line.slice(0, space);
    const value = line.slice(space + 1);
    if (index > 0) {
      if (!/^[a-z0-9.-]+$/.test(key)) return invalid(`line ${index + 1} has an invalid key ${JSON.stringify(key)}`);
      if (key <= previousKey) return invalid(`its keys are not sorted or repeat (${JSON.stringify(key)})`);
      previousKey = key;
    }
    if (key.startsWith("ext-")) return invalid("it uses a Git LFS extension, which is not supported");
    fields.set(key, value);
  }
  const oid = fields.get("oid");
  const size = fields.get("size");
  if (oid === undefined || size === undefined) return invalid("it lacks an oid or size line");
  const hex = /^sha256:([0-9a-f]{64})$/.exec(oid);
  if (!hex) return invalid(`its oid ${JSON.stringify(oid.slice(0, 80))} is not "sha256:" and 64 lowercase hex digits`);
  if (!/^(0|[1-9][0-9]*)$/.test(size))
    return invalid(`its size ${JSON.stringify(size.slice(0, 40))} is not a whole number of bytes`);
  if (Number(size) > MAX_SIZE)
    return invalid(
      `its size ${size.slice(0, 40)} is more than the ${MAX_SIZE} bytes (64 TiB) the fetcher accepts for one file`,
    );
  const known = new Set(["version", "oid", "size"]);
  const unknown = [...fields.keys()].filter((key) => !known.has(key));
  if (unknown.length > 0) return invalid(`it has unknown keys: ${unknown.join(", ")}`);
  return { kind: "pointer", pointer: { oid: hex[1]!, size: Number(size) } };
}
