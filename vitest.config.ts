import { readFileSync } from "node:fs";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    {
      // A .wasm import is its base64, as esbuild's `base64` loader makes it in the bundle
      // (scripts/bundle.mjs; src/xet/lz4-wasm-bytes.d.ts).
      name: "wasm-as-bytes",
      enforce: "pre",
      load(id) {
        if (!id.endsWith(".wasm")) return undefined;
        return `export default ${JSON.stringify(readFileSync(id).toString("base64"))};`;
      },
    },
  ],
  test: {
    // Through vite, so that the plugin above sees the import (node_modules are left to node).
    server: { deps: { inline: ["lz4-wasm-nodejs"] } },
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    // Nix builds and real servers take seconds, not milliseconds.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: more workers only make the Nix builds fight for them.
    maxWorkers: 2,
  },
});
