/**
 * The free-space check trusts statfs only where it knows the size of the file system: procfs,
 * like some FUSE and network file systems, reports 0 blocks and 0 free, which is "cannot tell",
 * not "full" (the write itself will say if it is). A real such file system, not an injected one.
 */
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { preflight } from "../../src/transfer/preflight.js";
import type { ByteSource, TransferItem } from "../../src/transfer/types.js";

const neverOpened: ByteSource = {
  description: "https://example.invalid/model.bin",
  supportsRanges: true,
  open: () => Promise.reject(new Error("preflight must not download")),
};

function itemUnder(directory: string): TransferItem {
  return {
    path: "model.bin",
    source: neverOpened,
    size: 1024,
    expected: {},
    destination: `${directory}/nix-model-repo-preflight/model.bin`,
  };
}

describe.skipIf(!existsSync("/proc/self"))("the free-space check", () => {
  it("does not refuse a download to a file system that reports no size at all (procfs)", async () => {
    await expect(preflight([itemUnder("/proc")])).resolves.toBeUndefined();
  });
});
