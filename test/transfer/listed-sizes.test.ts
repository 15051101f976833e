/**
 * Listed sizes cost nothing (issue 14, item 1). A listing may claim any size; once, 10^15
 * bytes made the engine plan a pending promise per 8 MiB part and die out of heap at 5 GB,
 * 10^13 cost 2 GB before the right refusal, 10^12 355 MiB. Now parts are planned lazily,
 * the first answer is checked against the listing before a second request goes out, and a
 * size no storage holds is refused before anything. Measured in a child process (the
 * engine alone), with a generous bound that does not depend on the size.
 *
 * The sizes that pass the rule (10^12, 10^13) would be stopped by the free-space check
 * first on any ordinary disk; they are written into a 20 TiB tmpfs (sparse: it costs only
 * what is written) in a private mount namespace, so what is tested is the engine's
 * planning, not the disk.
 */
import { execFile } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { bundleFixture } from "../helpers/bundle-fixture.js";
import { canMountTmpfs } from "../helpers/cli.js";
import { MiB, useFaultBed } from "../helpers/transfer-fixtures.js";

/**
 * Independent of the listed size, and generous: the hash buffer (16 MiB here), a hashing thread,
 * undici and socket buffers, young garbage (as memory-bound.test.ts allows). Planning every part
 * of 10^12 bytes up front cost 355 MiB.
 */
const BOUND = 16 * MiB + 96 * MiB;
const REAL_SIZE = MiB;

interface Measurement {
  readonly sha256?: string;
  readonly error?: { readonly name: string; readonly message: string };
  readonly received: number;
  readonly maxRssKiB: number;
  readonly baseline: { readonly rss: number };
}

const bed = useFaultBed({ freshDir: true });
let script: string;
let runs = 0;

beforeAll(async () => {
  script = join(tmpdir(), `nmr-measure-${process.pid}.mjs`);
  await bundleFixture(join(import.meta.dirname, "fixtures/measure-transfer.ts"), script);
});

/** Runs the fixture; with `bigDisk`, in a private mount namespace with a 20 TiB tmpfs for the output. */
async function measure(options: Record<string, unknown>, bigDisk: boolean): Promise<Measurement> {
  const disk = join(bed.dir.path, `disk-${++runs}`);
  await mkdir(disk);
  const json = JSON.stringify({
    destination: join(disk, "big.bin"),
    concurrency: 8,
    hashBufferBytes: 16 * MiB,
    ...options,
  });
  const [command, args] = bigDisk
    ? [
        "unshare",
        [
          "-rm",
          "sh",
          "-c",
          'mount -t tmpfs -o size=20T tmpfs "$1" && exec "$2" --expose-gc "$3" "$4"',
          "sh",
          disk,
          process.execPath,
          script,
          json,
        ],
      ]
    : [process.execPath, ["--expose-gc", script, json]];
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(command, args as string[], { maxBuffer: 1 << 20 }, (error, out, err) =>
      error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out),
    ),
  );
  return JSON.parse(stdout) as Measurement;
}

function growth(measurement: Measurement): number {
  const bytes = measurement.maxRssKiB * 1024 - measurement.baseline.rss;
  console.log(`peak RSS growth ${(bytes / MiB).toFixed(1)} MiB (${measurement.error?.message ?? measurement.sha256})`);
  return bytes;
}

describe("a listed size", () => {
  it("of 10^15 bytes is refused before anything is asked of the server, with the rule in the message", async () => {
    bed.server.serveGenerated("/huge.bin", REAL_SIZE, 1);
    const result = await measure({ url: bed.server.url("/huge.bin"), size: 1e15 }, false);
    expect(result.error?.name).toBe("DownloadFailure");
    expect(result.error?.message).toContain("as 1000000000000000 bytes, more than the 70368744177664 bytes (64 TiB)");
    expect(bed.server.requestsFor("/huge.bin")).toEqual([]);
    expect(growth(result)).toBeLessThan(BOUND);
  });

  describe.skipIf(!canMountTmpfs())("that passes the rule (a 20 TiB tmpfs; needs unshare)", () => {
    it.each([1e13, 1e12])(
      "of %d bytes, for a 1 MiB file: the first answer's total is checked before any other part is asked for",
      async (listed) => {
        bed.server.serveGenerated(`/lie-${listed}.bin`, REAL_SIZE, 2);
        const result = await measure({ url: bed.server.url(`/lie-${listed}.bin`), size: listed }, true);
        expect(result.error?.name).toBe("DownloadFailure");
        expect(result.error?.message).toContain(`size: expected ${listed} bytes, the server reports ${REAL_SIZE}`);
        // One request per download (the mismatch is downloaded once more): never a part beyond
        // the first (the engine's default part, 6 MiB).
        const requests = bed.server.requestsFor(`/lie-${listed}.bin`);
        expect(requests.map((request) => request.range)).toEqual(["bytes=0-6291455", "bytes=0-6291455"]);
        expect(growth(result)).toBeLessThan(BOUND);
      },
    );

    it("of 10^12 bytes, honestly served: memory stays flat, however many parts are ahead", async () => {
      bed.server.serveGenerated("/honest.bin", 1e12, 3);
      const result = await measure(
        { url: bed.server.url("/honest.bin"), size: 1e12, abortAfterBytes: 128 * MiB },
        true,
      );
      expect(result.error?.message).toMatch(/^stopped after \d+ bytes$/);
      expect(result.received).toBeGreaterThanOrEqual(128 * MiB);
      expect(growth(result)).toBeLessThan(BOUND);
    });
  });
});
