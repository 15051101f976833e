import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HttpClient } from "../../src/http/client.js";
import { transferAll } from "../../src/transfer/engine.js";
import { FaultServer, generatedSha256 } from "../helpers/fault-server.js";
import { MiB, client, item, quickSettings, tempDir } from "../helpers/transfer-fixtures.js";

let server: FaultServer;
let http: HttpClient;
let dir: { path: string; remove: () => Promise<void> };

beforeAll(async () => {
  server = await FaultServer.start();
  http = client();
  dir = await tempDir();
});
afterAll(async () => {
  await http.close();
  await server.close();
  await dir.remove();
});

describe("bandwidth limit", () => {
  it("caps the whole fetch: 4 MiB in two files and ranged parts at 2 MiB/s takes about 2 s", async () => {
    server.serveGenerated("/one.bin", 3 * MiB, 11);
    server.serveGenerated("/two.bin", 1 * MiB, 12);
    const started = performance.now();

    const results = await transferAll(
      [
        item(http, server.url("/one.bin"), join(dir.path, "one.bin"), {
          size: 3 * MiB,
          expected: { sha256: generatedSha256(11, 3 * MiB) },
        }),
        item(http, server.url("/two.bin"), join(dir.path, "two.bin"), {
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
