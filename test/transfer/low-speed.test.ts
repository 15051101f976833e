/**
 * The low-speed limit (src/transfer/low-speed.ts; issue 14, item 2), against a real server on
 * loopback that is slow on purpose: a trickle that never goes silent long enough for the read
 * timeout, and a server that sends a few bytes and then nothing, on every connection. Both
 * must end with a clear error after at most maxAttempts connections; a slow link that keeps
 * moving, or one held back by our own bandwidth cap, must not be cut. Settings are small so
 * the tests take seconds; the vitest timeout is the bound (no test asserts a duration).
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DownloadFailure } from "../../src/errors/failures.js";
import { transferAll } from "../../src/transfer/engine.js";
import { generatedSha256 } from "../helpers/fault-server.js";
import { client, filesUnder, item, lowSpeedTestSettings, useFaultBed } from "../helpers/transfer-fixtures.js";

const bed = useFaultBed({ freshDir: true });
const slowSettings = lowSpeedTestSettings();
const BOUND_MS = 30_000;

async function failureOf(
  path: string,
  size: number,
  settings = slowSettings,
  http = bed.http,
): Promise<DownloadFailure> {
  const error = await transferAll([item(http, bed.server.url(path), join(bed.dir.path, "file.bin"), { size })], {
    settings,
  }).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(DownloadFailure);
  return error as DownloadFailure;
}

describe("the low-speed limit", () => {
  it(
    "cuts a server that sends one byte every 2 s, and gives up after maxAttempts connections",
    async () => {
      bed.server.serveGenerated("/drip.bin", 200_000, 1, { trickle: { bytes: 1, everyMs: 2_000 } });
      const failure = await failureOf("/drip.bin", 200_000);
      expect(failure.code).toBe("NMR_NETWORK");
      expect(failure.message).toMatch(/too slow: \d+ bytes in 1 s, below the low-speed limit of 100 bytes\/s/);
      expect(failure.message).toContain("gave up after 2 attempts");
      expect(bed.server.requestsFor("/drip.bin").length).toBe(2);
      expect(await filesUnder(bed.dir.path)).toEqual([]);
    },
    BOUND_MS,
  );

  it(
    "cuts a server that sends a few bytes, then stalls, on every connection",
    async () => {
      bed.server.serveGenerated("/stall.bin", 100_000, 2, { stallAfterBytes: 10, stallTimes: 1_000 });
      const failure = await failureOf("/stall.bin", 100_000);
      expect(failure.message).toContain("too slow: ");
      expect(failure.message).toContain("gave up after 2 attempts");
      expect(bed.server.requestsFor("/stall.bin").length).toBe(2);
    },
    BOUND_MS,
  );

  it(
    "does not count a stalled connection's few bytes as progress when the read timeout ends it first",
    async () => {
      bed.server.serveGenerated("/stall-read.bin", 100_000, 3, { stallAfterBytes: 10, stallTimes: 1_000 });
      // The read timeout is the HTTP client's (its dispatcher's); the low-speed window is longer.
      const settings = { ...slowSettings, readTimeoutMs: 1_000, lowSpeedTimeMs: 20_000 };
      const http = client(settings);
      const failure = await failureOf("/stall-read.bin", 100_000, settings, http).finally(() => http.close());
      expect(failure.message).toContain("UND_ERR_BODY_TIMEOUT");
      expect(failure.message).toContain("gave up after 2 attempts");
      expect(bed.server.requestsFor("/stall-read.bin").length).toBe(2);
    },
    BOUND_MS,
  );

  it("lets a slow link that keeps moving finish, and a file held back by our own bandwidth cap", async () => {
    const size = 3_000;
    bed.server.serveGenerated("/slow-honest.bin", size, 4, { trickleBytesPer100Ms: 60 });
    bed.server.serveGenerated("/capped.bin", size, 5);
    const [slow, capped] = await transferAll(
      [
        item(bed.http, bed.server.url("/slow-honest.bin"), join(bed.dir.path, "slow.bin"), { size }),
        item(bed.http, bed.server.url("/capped.bin"), join(bed.dir.path, "capped.bin"), { size }),
      ],
      // A limit over what the cap lets through: the time spent held back by the cap does not count.
      { settings: { ...slowSettings, lowSpeedLimitBytesPerSec: 500, bandwidthLimitBytesPerSec: 1_000 } },
    );
    expect(slow?.sha256).toBe(generatedSha256(4, size));
    expect(capped?.sha256).toBe(generatedSha256(5, size));
    expect(bed.server.requestsFor("/slow-honest.bin").length).toBe(1);
    expect(bed.server.requestsFor("/capped.bin").length).toBe(1);
  });
});
