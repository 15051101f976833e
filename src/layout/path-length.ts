import { resolve } from "node:path";
import { UserError } from "../errors/user-error.js";

/**
 * Remote paths are checked segment by segment where they are read (src/sources/remote-path.ts:
 * no segment over 255 bytes); what only the layout knows is how long each whole path becomes
 * under the output, `<out>/snapshots/<commit>/<path>`, and how long the link there is
 * (`../` per level, then `blobs/<name>`). Both must fit in PATH_MAX, or creating the link
 * fails with ENAMETOOLONG, after every byte was downloaded. So they are checked when the
 * downloads are planned, before the first byte moves.
 */
const PATH_MAX = process.platform === "darwin" ? 1024 : 4096;
/** The longest blob name: a sha256 in hex (Hub etags, content digests), or an Ollama "sha256-<hex>". */
const LONGEST_BLOB_NAME = "sha256-".length + 64;
const COMMIT_LENGTH = 40;

export function checkSnapshotPaths(out: string, paths: readonly string[]): void {
  const snapshot = Buffer.byteLength(resolve(out, "snapshots", "0".repeat(COMMIT_LENGTH)));
  for (const path of paths) {
    const depth = path.split("/").length - 1;
    // The kernel counts the terminating NUL in PATH_MAX.
    const full = snapshot + 1 + Buffer.byteLength(path) + 1;
    const link = "../".length * (2 + depth) + "blobs/".length + LONGEST_BLOB_NAME + 1;
    const longest = Math.max(full, link);
    if (longest <= PATH_MAX) continue;
    throw new UserError({
      what: `Refusing ${JSON.stringify(path)}: its place in the output would take a path of ${longest - 1} bytes, more than the ${PATH_MAX - 1} the system allows`,
      context: { path: JSON.stringify(path), output: out },
      fix: [
        "Leave the file out with the source's `files` patterns if the rest of the model is what you need.",
        "Paths this long or this deep cannot be created on this system under any output directory; the source is broken or hostile.",
      ],
    });
  }
}
