import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { toNix32 } from "../../src/nar/nix32.js";
import { lockedBlobName, lockedSmallFilesName, rawDerivationName } from "../../src/nix/names.js";
import { fixedOutputStorePath } from "../../src/nix/store-path.js";
import { nixAvailable, nixEval, repoRoot } from "../helpers/nix.js";

/** What Nix itself says: nix-store --print-fixed-path [--recursive] sha256 <nix32> <name>. */
function printFixedPath(mode: "flat" | "recursive", sha256: Buffer, name: string): string {
  const args = [
    "--print-fixed-path",
    ...(mode === "recursive" ? ["--recursive"] : []),
    "sha256",
    toNix32(sha256),
    name,
  ];
  return execFileSync("nix-store", args, { encoding: "utf8" }).trim();
}

describe.skipIf(!nixAvailable)("fixedOutputStorePath", () => {
  it("computes the path nix-store --print-fixed-path prints, flat and recursive", () => {
    for (const seed of ["a", "b", "weights"]) {
      const sha256 = createHash("sha256").update(seed).digest();
      for (const name of [lockedBlobName(sha256.toString("hex")), "tiny-files", "x"]) {
        for (const mode of ["flat", "recursive"] as const) {
          expect(fixedOutputStorePath({ mode, sha256, name })).toBe(printFixedPath(mode, sha256, name));
        }
      }
    }
  });
});

describe.skipIf(!nixAvailable)("the store names, shared with the Nix library", () => {
  it("are the names lib/store-names.nix gives, from the same src/nix/store-names.json", async () => {
    const sha256 = createHash("sha256").update("shared").digest("hex");
    const result = await nixEval(
      `let names = import ${repoRoot}/lib/store-names.nix; in
       [ (names.raw "tiny") (names.lockedBlob "${sha256}") (names.lockedSmallFiles "tiny") ]`,
    );
    expect(result.stderr).toBe("");
    expect(result.value).toEqual([rawDerivationName("tiny"), lockedBlobName(sha256), lockedSmallFilesName("tiny")]);
    expect(result.value).toEqual(["tiny-raw", `model-blob-${sha256}`, "tiny-files"]);
  });
});
