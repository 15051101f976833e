// lz4-wasm-nodejs's WebAssembly, as base64: esbuild's `base64` loader inlines it into the bundle
// (scripts/bundle.mjs), and vitest.config.ts loads it the same way, since the fetcher ships as
// node plus dist/, with no node_modules to read a .wasm file from. Decoded on first use only.
declare module "lz4-wasm-nodejs/lz4_wasm_nodejs_bg.wasm" {
  const base64: string;
  export default base64;
}
