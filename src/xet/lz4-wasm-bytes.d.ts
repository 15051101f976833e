// lz4-wasm-nodejs's WebAssembly, as bytes: esbuild's `binary` loader inlines it into the bundle
// (scripts/bundle.mjs), and vitest.config.ts loads it the same way, since the fetcher ships as
// node plus dist/, with no node_modules to read a .wasm file from.
declare module "lz4-wasm-nodejs/lz4_wasm_nodejs_bg.wasm" {
  const bytes: Uint8Array;
  export default bytes;
}
