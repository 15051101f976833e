// hash-wasm's single-algorithm build (21 KB, CommonJS/UMD): importing the package root would
// put every algorithm's WebAssembly (~270 KB) into the fetcher's bundle.
declare module "hash-wasm/dist/blake3.umd.min.js" {
  const blake3Module: { createBLAKE3: typeof import("hash-wasm").createBLAKE3 };
  export default blake3Module;
}
