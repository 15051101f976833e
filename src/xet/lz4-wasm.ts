import wasmBase64 from "lz4-wasm-nodejs/lz4_wasm_nodejs_bg.wasm";

/**
 * LZ4 blocks decoded by lz4_flex (the Rust LZ4 xet-core itself uses), compiled to WebAssembly by
 * its author and published as lz4-wasm-nodejs. Byte-grouped bf16 chunks, the Hub's weights,
 * decode at 0.8-1.0 GB/s this way against 0.3-0.5 GB/s in JavaScript (docs/bench.md, "Sixth
 * round"), and decoding is what a Xet download of weights spends most of its CPU on.
 *
 * The package's own glue reads the .wasm file beside it, which the bundle does not have, so
 * this module instantiates the inlined module (base64) itself and speaks wasm-bindgen's calling
 * convention for `decompress(input: &[u8]) -> Result<Vec<u8>, JsValue>`: the input is the block
 * with its uncompressed size prepended (u32 LE), which lz4_flex takes as the output's capacity,
 * never writes past, and requires the block to fill exactly. Only blocks: the frame, its
 * checksums and every size are checked in lz4-decode.ts. Any failure here (a refused block, a
 * trap) returns false, the instance is dropped if it may be left in a bad state, and the
 * caller decodes the block in JavaScript, which says precisely what is wrong with it.
 */

interface Lz4Exports {
  readonly memory: { readonly buffer: ArrayBuffer };
  decompress(returned: number, input: number, length: number): void;
  __wbindgen_add_to_stack_pointer(delta: number): number;
  __wbindgen_malloc(size: number): number;
  __wbindgen_free(pointer: number, size: number): void;
}

/** The part of the WebAssembly global used here (the project's TypeScript libraries do not declare it). */
interface WebAssemblyApi {
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object, imports: object) => { readonly exports: object };
}

let exports: Lz4Exports | undefined;

function instantiate(): Lz4Exports {
  const imports = {
    // lz4_flex's error as a string; the caller only needs to know there was one.
    __wbindgen_placeholder__: { __wbindgen_string_new: () => 0 },
  };
  const { Module, Instance } = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;
  // Decoded here, not as the bundle loads: a fetch with no LZ4 block never pays for it.
  return new Instance(new Module(Buffer.from(wasmBase64, "base64")), imports).exports as Lz4Exports;
}

/** Decodes `block`, which must decode to exactly `size` bytes, into `output` at `at`; false if it did not. */
export function decodeBlockWasm(block: Uint8Array, size: number, output: Uint8Array, at: number): boolean {
  if (at + size > output.length) return false;
  let wasm: Lz4Exports;
  try {
    wasm = exports ??= instantiate();
  } catch {
    return false; // no WebAssembly here: JavaScript decodes every block
  }
  const returned = wasm.__wbindgen_add_to_stack_pointer(-16);
  try {
    // wasm-bindgen passes `&[u8]` by moving it into the module, which frees it after the call.
    const input = wasm.__wbindgen_malloc(block.length + 4);
    new DataView(wasm.memory.buffer).setUint32(input, size, true);
    new Uint8Array(wasm.memory.buffer).set(block, input + 4);
    wasm.decompress(returned, input, block.length + 4);
    // The memory may have grown during the call: views are made after it.
    const [pointer, length, , failed] = new Int32Array(wasm.memory.buffer, returned, 4);
    if (failed !== 0) return false;
    try {
      if (length !== size) return false;
      output.set(new Uint8Array(wasm.memory.buffer, pointer, length), at);
      return true;
    } finally {
      wasm.__wbindgen_free(pointer!, length!);
    }
  } catch {
    exports = undefined; // a trap: the module's stack and heap are not to be trusted again
    return false;
  } finally {
    if (exports === wasm) wasm.__wbindgen_add_to_stack_pointer(16);
  }
}
