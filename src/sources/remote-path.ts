import { UserError } from "../errors/user-error.js";

/**
 * Paths that come from a remote (tree listings, S3 keys, MLflow listings, archive
 * entries, manifest names) decide where the fetcher writes. A hostile or broken
 * server must not be able to write outside the output, overwrite another file, or
 * make the output depend on the filesystem (docs/architecture.md, "Security"). So a remote path is
 * refused, never "cleaned up", unless it is a plain relative path of plain segments.
 */
const MAX_SEGMENT_BYTES = 255;

export function checkRemotePath(path: string, origin: string): string {
  const refuse = (why: string) =>
    new UserError({
      what: `Refusing a file path from ${origin}: ${why}`,
      context: { path: JSON.stringify(path) },
      fix: [
        "This path could write outside the model folder or collide with another file; the source is broken or hostile.",
        "Exclude it with the source's `files` patterns if the rest of the model is trustworthy.",
      ],
    });
  if (path === "") throw refuse("it is empty");
  if (path.includes("\0")) throw refuse("it contains a NUL byte");
  if (path.includes("\\")) throw refuse("it contains a backslash");
  if (path.startsWith("/")) throw refuse("it is absolute");
  for (const segment of path.split("/")) {
    if (segment === "") throw refuse("it has an empty segment (a leading, trailing or doubled '/')");
    if (segment === "." || segment === "..") throw refuse(`it has a '${segment}' segment`);
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES)
      throw refuse(`a segment is longer than ${MAX_SEGMENT_BYTES} bytes`);
  }
  return path;
}

/** Every path of a remote listing: each one checked (checkRemotePath), and all of them unique (checkUniquePaths). */
export function checkRemotePaths(paths: readonly string[], origin: string): void {
  for (const path of paths) checkRemotePath(path, origin);
  checkUniquePaths(paths, origin);
}

/**
 * Refuses duplicate paths, paths equal after Unicode NFC normalisation (they would
 * be one file on macOS and two on Linux, giving different hashes), and a path that
 * is both a file and the parent directory of another file.
 */
export function checkUniquePaths(paths: readonly string[], origin: string): void {
  const seen = new Map<string, string>();
  for (const path of paths) {
    const key = path.normalize("NFC");
    const previous = seen.get(key);
    if (previous !== undefined) {
      throw new UserError({
        what: `Refusing the file list from ${origin}: two entries name the same file`,
        context: { first: JSON.stringify(previous), second: JSON.stringify(path) },
      });
    }
    seen.set(key, path);
  }
  for (const path of paths) {
    const segments = path.normalize("NFC").split("/");
    for (let depth = 1; depth < segments.length; depth++) {
      const parent = seen.get(segments.slice(0, depth).join("/"));
      if (parent !== undefined) {
        throw new UserError({
          what: `Refusing the file list from ${origin}: a file is also used as a directory`,
          context: { file: JSON.stringify(parent), child: JSON.stringify(path) },
        });
      }
    }
  }
}
