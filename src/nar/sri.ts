import { UserError } from "../errors/user-error.js";

/**
 * Subresource-integrity form of a sha256, `sha256-<base64>`: what `nix hash path` prints
 * and what `hash = "..."` in a Nix expression is written as.
 */
export function toSri(sha256: Uint8Array): string {
  if (sha256.length !== 32) throw new Error(`a sha256 is 32 bytes, got ${sha256.length}`);
  return `sha256-${Buffer.from(sha256).toString("base64")}`;
}

// 32 bytes are 43 base64 digits plus one "=": the last digit carries 2 bits of
// padding, so only every 4th letter can end a canonical encoding.
const SRI_SHA256 = /^sha256-([A-Za-z0-9+/]{42}[AEIMQUYcgkosw048])=$/;

/**
 * Parses `sha256-<base64 of 32 bytes>` and returns the 32 bytes. Anything else (another
 * algorithm, nix32 or hex, missing padding, a non-canonical last digit, stray spaces) is a
 * UserError naming `label`, so a typo in a pinned hash is reported rather than silently
 * never matching.
 */
export function parseSriSha256(sri: string, label = "hash"): Buffer {
  const match = SRI_SHA256.exec(sri);
  if (!match) {
    throw new UserError({
      what: `${label} is not an SRI sha256 hash: '${sri}'`,
      fix: [
        "write it as sha256- followed by the base64 of the 32-byte digest, e.g.",
        "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "`nix-model-repo hash PATH` or `nix hash to-sri --type sha256 <hash>` prints that form",
      ],
    });
  }
  return Buffer.from(`${match[1]}=`, "base64");
}
