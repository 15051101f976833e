import { createHash } from "node:crypto";
import { dumpNar } from "./dump.js";
import { toNix32 } from "./nix32.js";
import { toSri } from "./sri.js";

export interface NarHash {
  /** The 32-byte sha256 of the NAR serialisation. */
  readonly sha256: Buffer;
  /** `sha256-<base64>`, as `nix hash path` prints and `hash = ...` is written. */
  readonly sri: string;
  /** Nix's base-32, as `nix-hash --type sha256 --base32` prints. */
  readonly nix32: string;
  /** Bytes in the NAR serialisation (the `narSize` Nix records for a store path). */
  readonly narSize: number;
}

/**
 * The NAR hash of a path: what `nix hash path` prints, and what a fixed-output derivation
 * with `outputHashMode = "recursive"` must declare. Streams the archive into sha256, so
 * memory stays bounded whatever the size of the files. Throws UserError (see dumpNar).
 */
export async function narHash(path: string): Promise<NarHash> {
  const hash = createHash("sha256");
  let narSize = 0;
  await dumpNar(path, {
    write(chunk) {
      hash.update(chunk);
      narSize += chunk.length;
    },
  });
  const sha256 = hash.digest();
  return { sha256, sri: toSri(sha256), nix32: toNix32(sha256), narSize };
}
