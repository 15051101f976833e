import { type FieldReader, invalid } from "../spec/fields.js";
import { SHA256_HEX } from "../util/hex-ids.js";

/**
 * The spec's `select` block (docs/spec.md, "Per-file fetches"): instead of a whole model
 * in its layout, fetch exactly the files a lock entry names, pinned to what the lock
 * resolved. `lib.fromLock` writes one per fixed-output path:
 *
 * - `output = "file"`: one large file; $out is the file itself (a flat fixed-output path).
 * - `output = "directory"`: the small files of a revision; $out/<sha256> for each
 *   (a recursive fixed-output path).
 *
 * Every file is checked against the size and sha256 the lock gives, whatever the source
 * vouches for besides.
 */
export interface FetchSelection {
  readonly output: "file" | "directory";
  /**
   * What the lock says the source resolved to (commit, version, manifestDigest): the
   * adapter resolves to exactly that (AdapterContext.pinned), so a branch that moved
   * upstream does not change what this fetch gets.
   */
  readonly resolved: Readonly<Record<string, string>>;
  readonly files: readonly SelectedFile[];
}

export interface SelectedFile {
  readonly path: string;
  readonly size: number;
  /** Lowercase hex. */
  readonly sha256: string;
}

export function parseSelection(r: FieldReader): FetchSelection {
  const output = r.choice("output", ["file", "directory"] as const);
  const resolvedValue = r.record("resolved");
  const resolved: Record<string, string> = {};
  for (const [key, value] of Object.entries(resolvedValue)) {
    if (typeof value !== "string" || value === "")
      throw invalid(`${r.path("resolved")}.${key}`, "must be a non-empty string", value);
    resolved[key] = value;
  }
  const files = r.objectList("files", (file) => {
    const path = file.string("path");
    const size = file.number("size", { min: 0, integer: true });
    const sha256 = file.string("sha256");
    if (!SHA256_HEX.test(sha256)) throw file.refuse("sha256", "must be 64 lowercase hex digits", sha256);
    return { path, size, sha256 };
  });
  if (files.length === 0) throw r.refuse("files", "must name at least one file", files);
  if (output === "file" && files.length !== 1)
    throw r.refuse("files", 'must name exactly one file when output = "file"', files.length);
  if (new Set(files.map((file) => file.path)).size !== files.length)
    throw r.refuse(
      "files",
      "must name each path once",
      files.map((file) => file.path),
    );
  r.done();
  return { output, resolved, files };
}
