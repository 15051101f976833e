import { createRequire } from "node:module";

/**
 * Built-in modules that only some fetches need, loaded by the first call that needs them,
 * synchronously (a body decoder and the hashing thread cannot wait for `await import()`, and
 * one loader serves every caller): every fetch (one per file with a lockfile) would otherwise
 * compile them at start (docs/bench.md, "Fourth round").
 * test/integration/bundle.test.ts checks that a plain Hub fetch loads none of them.
 */
const requireBuiltin = createRequire(import.meta.url);

/** node:zlib: a compressed response body (we ask for identity), or an archive to unpack (tar.gz, zip). */
export function zlib(): typeof import("node:zlib") {
  return requireBuiltin("node:zlib") as typeof import("node:zlib");
}

/** node:worker_threads: hashing threads start only for large files on more than two cores. */
export function workerThreads(): typeof import("node:worker_threads") {
  return requireBuiltin("node:worker_threads") as typeof import("node:worker_threads");
}

/** node:http: only for a failed response's status text (undici's HTTP/1 client no longer loads it). */
export function http(): typeof import("node:http") {
  return requireBuiltin("node:http") as typeof import("node:http");
}

/** node:vm: only to reach V8's full collection (full-collection.ts), when a fetch first needs one. */
export function vm(): typeof import("node:vm") {
  return requireBuiltin("node:vm") as typeof import("node:vm");
}
