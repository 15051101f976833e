import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, openSync, closeSync, rmSync, truncateSync, writeSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { narHash } from "../../src/nar/hash.js";

const run = promisify(execFile);
const MiB = 1024 * 1024;
// Over 1 GiB and not a multiple of 8, so the length prefix needs more than 30 bits and
// the contents end in padding.
const SIZE = 1024 * MiB + 12_345;

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "nar-large-"));
  mkdirSync(join(work, "model"));
  const file = join(work, "model", "weights.bin");
  // Sparse: costs no disk, but is read (and hashed) in full like any other file.
  writeFileSync(file, "");
  truncateSync(file, SIZE);
  const fd = openSync(file, "r+");
  try {
    // Non-zero bytes at chunk edges, the middle, and the last byte, so a reader that
    // skipped or reordered a chunk would hash differently.
    for (const offset of [0, 4095, 4 * MiB - 1, 4 * MiB, 512 * MiB + 3, 1024 * MiB - 1, SIZE - 1]) {
      writeSync(
        fd,
        Buffer.from([0xa5, 0x5a, 0x01].slice(0, Math.min(3, SIZE - offset))),
        0,
        Math.min(3, SIZE - offset),
        offset,
      );
    }
  } finally {
    closeSync(fd);
  }
  writeFileSync(join(work, "model", "config.json"), "{}\n");
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe("a file over 1 GiB", () => {
  it("hashes as nix-hash does, streaming, in bounded memory", { timeout: 300_000 }, async () => {
    const root = join(work, "model");
    const nixHash = async () => {
      const started = performance.now();
      const { stdout } = await run("nix-hash", ["--type", "sha256", root]);
      return { hex: stdout.trim(), seconds: (performance.now() - started) / 1000 };
    };
    // The first read of a fresh file pays for filling the page cache (seconds on this VM);
    // let nix-hash pay it, then time both readers warm.
    const cold = await nixHash();

    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    const ours = await narHash(root);
    const oursSeconds = (performance.now() - started) / 1000;
    const rssGrowthMiB = (process.memoryUsage().rss - rssBefore) / MiB;

    const warm = await nixHash();

    expect(ours.sha256.toString("hex")).toBe(cold.hex);
    expect(warm.hex).toBe(cold.hex);
    expect(ours.narSize).toBeGreaterThan(SIZE);
    // Streaming: memory grows by the read buffers, not by the file.
    expect(rssGrowthMiB).toBeLessThan(64);

    const mib = ours.narSize / MiB;
    const rate = (seconds: number) => `${seconds.toFixed(2)} s (${(mib / seconds).toFixed(0)} MiB/s)`;
    console.log(
      `NAR of ${(SIZE / MiB).toFixed(1)} MiB, page cache warm: narHash ${rate(oursSeconds)}, nix-hash ${rate(warm.seconds)}; ` +
        `nix-hash cold ${rate(cold.seconds)}; RSS +${rssGrowthMiB.toFixed(1)} MiB`,
    );
  });
});
