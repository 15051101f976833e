import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * Bundles the CLI once before the tests: the e2e tests run dist/nix-model-repo.mjs
 * (as the Nix builder and as a CLI), and a stale bundle would test old code. When
 * bundling fails the old bundle is removed, so the tests that need it fail visibly
 * instead of testing yesterday's code; the unit tests still run.
 */
export default function setup(): void {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const result = spawnSync(process.execPath, ["scripts/bundle.mjs"], { cwd: root, encoding: "utf8" });
  if (result.status !== 0) {
    rmSync(`${root}/dist/nix-model-repo.mjs`, { force: true });
    process.stderr.write(`\nwarning: bundling the CLI failed; tests that run it will fail:\n${result.stderr}\n`);
  }
}
