import type { IHasher } from "hash-wasm";
import blake3Module from "hash-wasm/dist/blake3.umd.min.js";
import { HASH_BYTES, hashToHex } from "./hash-hex.js";

export { HASH_BYTES, hashToHex, hexToHash, isXetHashHex } from "./hash-hex.js";

/**
 * Xet's hashes (xet-core spec/hashing.md): 32-byte BLAKE3 keyed hashes of chunks, a Merkle
 * tree over (chunk hash, size) pairs for xorbs, and the tree root keyed once more for files.
 * BLAKE3 comes from hash-wasm (maintained, no dependencies, keyed mode, WebAssembly embedded
 * in the JavaScript so it bundles into the single-file fetcher): about 250 MB/s here, where
 * the pure-JS @noble/hashes managed 7-20 MB/s, and serve hashes every byte it offers through
 * Xet. A hash function is not something to port by hand either way.
 */

/** Key for chunk (leaf) hashes. */
const DATA_KEY = Uint8Array.from([
  102, 151, 245, 119, 91, 149, 80, 222, 49, 53, 203, 172, 165, 151, 24, 28, 157, 228, 33, 16, 155, 235, 43, 88, 180,
  208, 176, 75, 147, 173, 242, 41,
]);

/** Key for internal Merkle nodes. */
const INTERNAL_NODE_KEY = Uint8Array.from([
  1, 126, 197, 199, 165, 71, 41, 150, 253, 148, 102, 102, 180, 138, 2, 230, 93, 221, 83, 111, 55, 199, 109, 210, 248,
  99, 82, 230, 74, 83, 113, 63,
]);

/** A file hash is the Merkle root keyed with 32 zero bytes (xet-core calls it the salt). */
const ZERO_KEY = new Uint8Array(HASH_BYTES);

// One hasher per key, created once; each use is synchronous (init, update, digest), so calls
// never interleave.
const [dataHasher, nodeHasher, fileHasher] = await Promise.all(
  [DATA_KEY, INTERNAL_NODE_KEY, ZERO_KEY].map((key) => blake3Module.createBLAKE3(256, key)),
);

function keyedHash(hasher: IHasher, data: Uint8Array): Uint8Array {
  hasher.init();
  hasher.update(data);
  return hasher.digest("binary");
}

/** Mean branching factor of xet-core's aggregated-hash tree; a node has 2..9 children. */
const MEAN_BRANCHING = 4;
const MAX_CHILDREN = 2 * MEAN_BRANCHING + 1;

export interface SizedHash {
  readonly hash: Uint8Array;
  readonly size: number;
}

export function chunkHash(data: Uint8Array): Uint8Array {
  return keyedHash(dataHasher!, data);
}

/** One internal node: "<hex> : <size>\n" per child, hashed with the internal-node key. */
function mergeNodes(nodes: readonly SizedHash[]): SizedHash {
  let text = "";
  let size = 0;
  for (const node of nodes) {
    text += `${hashToHex(node.hash)} : ${node.size}\n`;
    size += node.size;
  }
  return { hash: keyedHash(nodeHasher!, new TextEncoder().encode(text)), size };
}

/** xet-core cuts a group after a node whose last u64 word is divisible by 4 (a "natural cut"). */
function isNaturalCut(hash: Uint8Array): boolean {
  // The last word's low byte is hash[24]; divisibility by 4 only needs its two low bits.
  return (hash[24]! & (MEAN_BRANCHING - 1)) === 0;
}

/** How many of `nodes` (from the start) form the next group: 2 to 9, ending at a natural cut. */
function nextGroupLength(nodes: readonly SizedHash[], start: number): number {
  const remaining = nodes.length - start;
  if (remaining <= 2) return remaining;
  const end = Math.min(MAX_CHILDREN, remaining);
  for (let index = 2; index < end; index++) {
    if (isNaturalCut(nodes[start + index]!.hash)) return index + 1;
  }
  return end;
}

/** The root of xet-core's content-defined Merkle tree; all-zero for no chunks. */
function merkleRoot(chunks: readonly SizedHash[]): Uint8Array {
  if (chunks.length === 0) return new Uint8Array(HASH_BYTES);
  let level: SizedHash[] = [...chunks];
  while (level.length > 1) {
    const next: SizedHash[] = [];
    for (let start = 0; start < level.length; ) {
      const length = nextGroupLength(level, start);
      next.push(mergeNodes(level.slice(start, start + length)));
      start += length;
    }
    level = next;
  }
  return level[0]!.hash;
}

/** A xorb's hash: the Merkle root over its chunks' hashes and sizes. */
export function xorbHash(chunks: readonly SizedHash[]): Uint8Array {
  return merkleRoot(chunks);
}

/**
 * A file's hash (its Xet file id): the Merkle root over its chunks, keyed once more with 32
 * zero bytes. An empty file's hash is all zeros, unkeyed, as in xet-core.
 */
export function fileHash(chunks: readonly SizedHash[]): Uint8Array {
  if (chunks.length === 0) return new Uint8Array(HASH_BYTES);
  return keyedHash(fileHasher!, merkleRoot(chunks));
}
