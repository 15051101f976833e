import { createHash, type Hash } from "node:crypto";
import type { ExpectedDigests } from "./types.js";

/**
 * Every digest of a file, computed in one pass over its bytes as they arrive: sha256
 * always (the meta file records it), plus each digest the source vouches for.
 */
export type DigestName = keyof ExpectedDigests;

export interface DigestMismatch {
  readonly name: DigestName;
  readonly expected: string;
  readonly actual: string;
}

export class StreamingDigests {
  readonly #hashes = new Map<DigestName, Hash>();
  #bytes = 0;

  /**
   * `size` is needed up front only for a git blob id, whose header "blob <size>\0"
   * precedes the content. Throws when that digest is expected and the size is unknown.
   */
  constructor(expected: ExpectedDigests, size: number | undefined) {
    this.#hashes.set("sha256", createHash("sha256"));
    if (expected.sha1 !== undefined) this.#hashes.set("sha1", createHash("sha1"));
    if (expected.md5 !== undefined) this.#hashes.set("md5", createHash("md5"));
    if (expected.gitBlobSha1 !== undefined) {
      if (size === undefined) {
        throw new Error("a git blob id cannot be checked without knowing the size before the first byte");
      }
      this.#hashes.set("gitBlobSha1", createHash("sha1").update(`blob ${size}\0`));
    }
  }

  update(chunk: Uint8Array): void {
    for (const hash of this.#hashes.values()) hash.update(chunk);
    this.#bytes += chunk.byteLength;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Hex digests; the hashes cannot be updated afterwards. */
  finish(): { readonly sha256: string } & Partial<Record<DigestName, string>> {
    const result: Partial<Record<DigestName, string>> = {};
    for (const [name, hash] of this.#hashes) result[name] = hash.digest("hex");
    return { ...result, sha256: result.sha256 ?? "" };
  }
}

export function digestMismatches(
  expected: ExpectedDigests,
  actual: Partial<Record<DigestName, string>>,
): DigestMismatch[] {
  const mismatches: DigestMismatch[] = [];
  for (const name of ["sha256", "gitBlobSha1", "sha1", "md5"] as const) {
    const want = expected[name];
    if (want === undefined) continue;
    const got = actual[name] ?? "";
    if (want.toLowerCase() !== got) mismatches.push({ name, expected: want.toLowerCase(), actual: got });
  }
  return mismatches;
}
