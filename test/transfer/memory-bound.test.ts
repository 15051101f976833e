import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { bundleFixture } from "../helpers/bundle-fixture.js";
import { generatedSha256 } from "../helpers/fault-server.js";
import { MiB, useFaultBed } from "../helpers/transfer-fixtures.js";

/**
 * The engine's memory bound, measured in a child process so the numbers are the
 * transfer's alone: a 512 MiB file over loopback in ranged parts must not grow the
 * child's RSS by more than the hash buffer plus a fixed allowance, and neither may a
 * single stream. Also prints throughput (MiB/s) for the report.
 */
const SIZE = 512 * MiB;
/**
 * Independent of file size: the slabs of a stream at the frontier (≤ 4.5 MiB), a hashing
 * thread (~10 MiB), undici and socket buffers, and network chunks awaiting a scavenge.
 */
const FIXED_ALLOWANCE = 96 * MiB;

interface Measurement {
  readonly sha256: string;
  readonly seconds: number;
  readonly mibPerSecond: number;
  readonly baseline: NodeJS.MemoryUsage;
  readonly peak: Pick<NodeJS.MemoryUsage, "rss" | "heapUsed" | "external" | "arrayBuffers">;
}

const bed = useFaultBed();
let script: string;
let expectedSha256: string;

beforeAll(async () => {
  bed.server.serveGenerated("/big.bin", SIZE, 42);
  script = join(bed.dir.path, "measure-transfer.mjs");
  await bundleFixture(join(import.meta.dirname, "fixtures/measure-transfer.ts"), script);
  expectedSha256 = generatedSha256(42, SIZE);
});

async function measure(name: string, options: Record<string, number>): Promise<Measurement> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      "--expose-gc",
      script,
      JSON.stringify({
        url: bed.server.url("/big.bin"),
        size: SIZE,
        destination: join(bed.dir.path, name),
        ...options,
      }),
    ],
    { maxBuffer: 1 << 20 },
  );
  const measurement = JSON.parse(stdout) as Measurement;
  const growth = (measurement.peak.rss - measurement.baseline.rss) / MiB;
  const buffers = (measurement.peak.arrayBuffers - measurement.baseline.arrayBuffers) / MiB;
  console.log(
    `${name}: ${measurement.mibPerSecond.toFixed(0)} MiB/s, RSS +${growth.toFixed(0)} MiB, ` +
      `ArrayBuffers +${buffers.toFixed(0)} MiB, heap peak ${(measurement.peak.heapUsed / MiB).toFixed(0)} MiB`,
  );
  return measurement;
}

describe("memory bound", () => {
  it("holds at most the hash buffer (plus a fixed allowance) for a 512 MiB file in ranged parts", async () => {
    const hashBufferBytes = 32 * MiB;
    const result = await measure("parts", { concurrency: 8, hashBufferBytes });
    expect(result.sha256).toBe(expectedSha256);
    expect(result.peak.rss - result.baseline.rss).toBeLessThan(hashBufferBytes + FIXED_ALLOWANCE);
    expect(result.peak.arrayBuffers - result.baseline.arrayBuffers).toBeLessThan(hashBufferBytes + FIXED_ALLOWANCE);
  });

  it("holds a fixed amount for a 512 MiB file in one stream", async () => {
    const result = await measure("single stream", { concurrency: 1, parallelThresholdBytes: 2 * SIZE });
    expect(result.sha256).toBe(expectedSha256);
    expect(result.peak.rss - result.baseline.rss).toBeLessThan(FIXED_ALLOWANCE);
  });
});
