import { createHash } from "node:crypto";
import { toNix32 } from "../nar/nix32.js";

/**
 * The store path Nix gives a fixed-output path, computed as Nix computes it
 * (libstore/store-api.cc makeFixedOutputPath and makeStorePath), without asking
 * `nix-store --print-fixed-path` once per file: a locked model of a thousand files would
 * otherwise start a thousand processes. test/nix/store-path.test.ts holds it to Nix's
 * own answer.
 *
 *   recursive sha256:  makeStorePath("source", hash, name)
 *   anything else:     makeStorePath("output:out", sha256("fixed:out:" + ("r:" if recursive) + "sha256:<hex>:"), name)
 *   makeStorePath(type, hash, name) = storeDir + "/" + nix32(fold20(sha256(type + ":sha256:<hex>:" + storeDir + ":" + name))) + "-" + name
 */
export type IngestionMode = "flat" | "recursive";

export interface FixedOutput {
  readonly mode: IngestionMode;
  /** The 32-byte sha256: of the file (flat) or of its NAR serialisation (recursive). */
  readonly sha256: Uint8Array;
  readonly name: string;
  /** Default: $NIX_STORE_DIR, else /nix/store. */
  readonly storeDir?: string;
}

export function defaultStoreDir(env: NodeJS.ProcessEnv = process.env): string {
  return env["NIX_STORE_DIR"] || "/nix/store";
}

export function fixedOutputStorePath({ mode, sha256, name, storeDir = defaultStoreDir() }: FixedOutput): string {
  if (sha256.length !== 32) throw new Error(`internal error: a sha256 is 32 bytes, got ${sha256.length}`);
  const hex = Buffer.from(sha256).toString("hex");
  if (mode === "recursive") return makeStorePath("source", hex, name, storeDir);
  const inner = createHash("sha256").update(`fixed:out:sha256:${hex}:`).digest("hex");
  return makeStorePath("output:out", inner, name, storeDir);
}

function makeStorePath(type: string, hex: string, name: string, storeDir: string): string {
  const digest = createHash("sha256").update(`${type}:sha256:${hex}:${storeDir}:${name}`).digest();
  // compressHash: the 32 bytes folded onto 20 by xor.
  const folded = Buffer.alloc(20);
  for (let i = 0; i < digest.length; i++) folded[i % 20]! ^= digest[i]!;
  return `${storeDir}/${toNix32(folded)}-${name}`;
}
