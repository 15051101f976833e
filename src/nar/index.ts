/** NAR serialisation and hashing, bit-for-bit as Nix does it. */
export { dumpNar, type NarSink } from "./dump.js";
export { narHash, type NarHash } from "./hash.js";
export { writeNar } from "./write.js";
export { toNix32, fromNix32, NIX32_ALPHABET } from "./nix32.js";
export { toSri, parseSriSha256 } from "./sri.js";
