import { fromNix32 } from "../../nar/nix32.js";

/**
 * The forms nixpkgs' fetchurl accepts for a sha256, all read to lowercase hex (the form
 * the transfer engine and the meta file use):
 *   64 hex digits                           "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
 *   SRI                                     "sha256-n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="
 *   nix32 (nix-prefetch-url's output)       "0b5b6m3...", 52 characters
 * Returns undefined for anything else.
 */
export function parseSha256(text: string): string | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return text.toLowerCase();
  const sri = /^sha256-([A-Za-z0-9+/]{43}=)$/.exec(text);
  if (sri) {
    const bytes = Buffer.from(sri[1]!, "base64");
    // Only the canonical spelling: Buffer.from ignores stray low bits of the last digit.
    return bytes.length === 32 && bytes.toString("base64") === sri[1] ? bytes.toString("hex") : undefined;
  }
  if (/^[0-9a-df-np-sv-z]{52}$/.test(text)) {
    try {
      return fromNix32(text).toString("hex");
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export const SHA256_FORMS =
  'a sha256 as 64 hex digits, "sha256-<base64>" (SRI) or nix32 (52 characters, what nix-prefetch-url prints)';
