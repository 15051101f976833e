import { createHash } from "node:crypto";

/**
 * The git object ids the Hub reports, computed the way git computes them, so that what
 * the server says about a file matches what `git hash-object` and the real Hub say.
 */

/** Incremental git blob sha1: sha1("blob <size>\0" + content). The size must be known up front. */
export function gitBlobHasher(size: number) {
  const hash = createHash("sha1");
  hash.update(`blob ${size}\0`);
  return hash;
}

export function gitBlobOid(content: Buffer | string): string {
  const bytes = typeof content === "string" ? Buffer.from(content) : content;
  return gitBlobHasher(bytes.length).update(bytes).digest("hex");
}

/** The pointer file git-lfs commits in place of the content (exactly as `git lfs pointer` writes it). */
export function lfsPointer(sha256: string, size: number): string {
  return `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${size}\n`;
}

export interface TreeObjectEntry {
  readonly name: string;
  readonly kind: "file" | "directory";
  /** 40-hex id of the blob (for LFS files: of the pointer) or of the sub-tree. */
  readonly oid: string;
}

/**
 * The id of a git tree object with these entries. Git orders entries by name, comparing a
 * directory's name as if it ended with "/" ("a.b" sorts before the directory "a", which
 * sorts before "a0"); byte order, not locale order.
 */
export function gitTreeOid(entries: readonly TreeObjectEntry[]): string {
  const sortKey = (entry: TreeObjectEntry) => Buffer.from(entry.kind === "directory" ? `${entry.name}/` : entry.name);
  const sorted = [...entries].sort((a, b) => Buffer.compare(sortKey(a), sortKey(b)));
  const body = Buffer.concat(
    sorted.map((entry) =>
      Buffer.concat([
        Buffer.from(`${entry.kind === "directory" ? "40000" : "100644"} ${entry.name}\0`),
        Buffer.from(entry.oid, "hex"),
      ]),
    ),
  );
  return createHash("sha1").update(`tree ${body.length}\0`).update(body).digest("hex");
}
