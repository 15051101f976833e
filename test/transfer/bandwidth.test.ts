import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { transferAll } from "../../src/transfer/engine.js";
import { generatedSha256 } from "../helpers/fault-server.js";
import { MiB, item, quickSettings, useFaultBed } from "../helpers/transfer-fixtures.js";

const bed = useFaultBed();

describe("bandwidth limit", () => {
  it("caps the whole fetch: 4 MiB in two files and ranged parts at 2 MiB/s takes about 2 s", async () => {
    bed.server.serveGenerated("/one.bin", 3 * MiB, 11);
    bed.server.serveGenerated("/two.bin", 1 * MiB, 12);
    const started = performance.now();

    const results = await transferAll(
      [
        item(bed.http, bed.server.url("/one.bin"), join(bed.dir.path, "one.bin"), {
          size: 3 * MiB,
          expected: { sha256: generatedSha256(11, 3 * MiB) },
        }),
        item(bed.http, bed.server.url("/two.bin"), join(bed.dir.path, "two.bin"), {
          size: 1 * MiB,
          expected: { sha256: generatedSha256(12, 1 * MiB) },
        }),
      ],
      {
        settings: quickSettings({ bandwidthLimitBytesPerSec: 2 * MiB, concurrency: 4 }),
        parallelThresholdBytes: 2 * MiB,
        partSizeBytes: 512 * 1024,
      },
    );
    const seconds = (performance.now() - started) / 1000;

    expect(results).toHaveLength(2);
    expect(seconds).toBeGreaterThan(1.6);
    expect(seconds).toBeLessThan(3.5);
  });
});
