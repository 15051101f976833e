import { createHash, type Hash } from "node:crypto";
import { UnverifiableFailure } from "../errors/failures.js";
import type { ExpectedDigests } from "./types.js";

/**
 * Every digest of a file, computed in one pass over its bytes as they arrive: sha256
 * always (the meta file records it), plus each digest the source vouches for.
 */
export type DigestName = keyof ExpectedDigests;

export type FileDigests = { readonly sha256: string } & Partial<Record<DigestName, string>>;

export interface DigestMismatch {
  readonly name: DigestName;
  readonly expected: string;
  readonly actual: string;
}

/** One hash to compute: node's algorithm name and bytes hashed before the content. */
export interface HashSpec {
  readonly name: DigestName;
  readonly algorithm: "sha256" | "sha1" | "md5";
  readonly prefix?: string;
}

/**
 * What to hash for a file. `size` is needed up front only for a git blob id, whose header
 * "blob <size>\0" precedes the content. Throws when that digest is expected and the size
 * is unknown.
 */
export function hashSpecs(expected: ExpectedDigests, size: number | undefined): HashSpec[] {
  const specs: HashSpec[] = [{ name: "sha256", algorithm: "sha256" }];
  if (expected.sha1 !== undefined) specs.push({ name: "sha1", algorithm: "sha1" });
  if (expected.md5 !== undefined) specs.push({ name: "md5", algorithm: "md5" });
  if (expected.gitBlobSha1 !== undefined) {
    if (size === undefined) {
      throw new UnverifiableFailure("a git blob id cannot be checked without knowing the size before the first byte");
    }
    specs.push({ name: "gitBlobSha1", algorithm: "sha1", prefix: `blob ${size}\0` });
  }
  return specs;
}

/**
 * Where a file's bytes go to be hashed, in file order. Implemented on this thread
 * (StreamingDigests) and on a hashing thread (hash-workers.ts).
 */
export interface DigestSink {
  /**
   * The next bytes of the file. `consumed` is called once they are hashed: until then the
   * caller must not change them (they may be read by another thread).
   */
  update(bytes: Uint8Array, consumed?: () => void): void;
  /** Hex digests once every byte given is hashed; nothing may be added afterwards. */
  result(): Promise<FileDigests>;
  /** Gives up (failure or abort): pending `consumed` callbacks still run. */
  dispose(): void;
}

/** Hashes on the calling thread, synchronously. */
export class StreamingDigests implements DigestSink {
  readonly #hashes = new Map<DigestName, Hash>();
  #bytes = 0;

  constructor(expected: ExpectedDigests, size: number | undefined) {
    for (const spec of hashSpecs(expected, size)) {
      const hash = createHash(spec.algorithm);
      if (spec.prefix !== undefined) hash.update(spec.prefix);
      this.#hashes.set(spec.name, hash);
    }
  }

  update(chunk: Uint8Array, consumed?: () => void): void {
    for (const hash of this.#hashes.values()) hash.update(chunk);
    this.#bytes += chunk.byteLength;
    consumed?.();
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Hex digests; the hashes cannot be updated afterwards. */
  finish(): FileDigests {
    const result: Partial<Record<DigestName, string>> = {};
    for (const [name, hash] of this.#hashes) result[name] = hash.digest("hex");
    return { ...result, sha256: result.sha256 ?? "" };
  }

  result(): Promise<FileDigests> {
    return Promise.resolve(this.finish());
  }

  dispose(): void {}
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
