/**
 * Files assembled from pieces of other resources (src/transfer/receive-assembled.ts, the
 * engine's side of Xet): the source yields the file in order, fetching pieces through the
 * engine, which gives each a connection slot, retries, resume after a cut and the bandwidth
 * cap, then checks the file as any other.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DownloadFailure, IntegrityFailure } from "../../src/errors/failures.js";
import { transferAll } from "../../src/transfer/engine.js";
import type { AssembledSource, ByteSource, PieceFetcher } from "../../src/transfer/types.js";
import { filesUnder, quickSettings, recordingProgress, sha256, useFaultBed } from "../helpers/transfer-fixtures.js";

const bed = useFaultBed({ freshDir: true });

/** 60 kB of numbered lines: every piece of it is recognisable. */
const resource = Buffer.from(
  Array.from({ length: 6000 }, (_, index) => `${String(index).padStart(9, "0")}\n`).join(""),
);

/** A file made of `ranges` of the resource at `url`, in this order (all requested at once; the engine bounds them). */
function assembled(url: string, ranges: ReadonlyArray<[number, number]>, log: string[] = []): AssembledSource {
  const source: ByteSource = bed.http.byteSource(url);
  return {
    description: `pieces of ${url}`,
    async *assemble(fetchPiece: PieceFetcher, signal: AbortSignal) {
      // All pieces at once (the engine's slots bound them), yielded in order.
      const pieces = ranges.map(([start, end]) => {
        const parts: Uint8Array[] = [];
        const done = fetchPiece(
          source,
          { start, end },
          (bytes) => {
            parts.push(Uint8Array.from(bytes));
          },
          signal,
        );
        return done.then(() => Buffer.concat(parts));
      });
      for (const piece of pieces) {
        const bytes = await piece;
        log.push(`${bytes.length}`);
        yield bytes;
      }
    },
  };
}

const ranges: Array<[number, number]> = [
  [50_000, 60_000],
  [0, 20_000],
  [20_000, 50_000],
  [0, 20_000],
];
const expected = Buffer.concat(ranges.map(([start, end]) => resource.subarray(start, end)));

describe("assembled files", () => {
  it("are written in order from pieces fetched through the engine, and checked like any file", async () => {
    bed.server.serveBytes("/resource", resource);
    const progress = recordingProgress();
    const destination = join(bed.dir.path, "file.bin");
    const [result] = await transferAll(
      [
        {
          path: "file.bin",
          source: assembled(bed.server.url("/resource"), ranges),
          size: expected.length,
          expected: { sha256: sha256(expected) },
          destination,
        },
      ],
      { settings: quickSettings({ concurrency: 2 }), progress },
    );
    expect(result?.sha256).toBe(sha256(expected));
    expect((await readFile(destination)).equals(expected)).toBe(true);
    expect(bed.server.requestsFor("/resource").map((request) => request.range)).toEqual(
      expect.arrayContaining(["bytes=50000-59999", "bytes=0-19999", "bytes=20000-49999"]),
    );
    expect(progress.events).toEqual(["started file.bin", `finished file.bin ${expected.length}`]);
  });

  it("resume a piece cut mid-way from where it stopped, and retry a 503", async () => {
    bed.server.serveBytes("/resource", resource, { statuses: [{ status: 503 }], dropAfterBytes: 7_000 });
    const destination = join(bed.dir.path, "file.bin");
    await transferAll(
      [
        {
          path: "file.bin",
          source: assembled(bed.server.url("/resource"), ranges),
          size: expected.length,
          expected: { sha256: sha256(expected) },
          destination,
        },
      ],
      { settings: quickSettings({ concurrency: 1 }) },
    );
    expect((await readFile(destination)).equals(expected)).toBe(true);
    const requests = bed.server.requestsFor("/resource");
    expect(requests[0]?.status).toBe(503);
    const cut = requests.find((request) => request.dropped)!;
    const [, first] = /^bytes=(\d+)-/.exec(cut.range ?? "") ?? [];
    expect(requests.some((request) => request.range?.startsWith(`bytes=${Number(first) + 7_000}-`))).toBe(true);
  });

  it("are fetched again once after a digest mismatch, then fail naming the file, leaving nothing", async () => {
    bed.server.serveBytes("/resource", resource);
    const log: string[] = [];
    const error = await transferAll(
      [
        {
          path: "file.bin",
          source: assembled(bed.server.url("/resource"), ranges, log),
          size: expected.length,
          expected: { sha256: "0".repeat(64) },
          destination: join(bed.dir.path, "file.bin"),
        },
      ],
      { settings: quickSettings() },
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DownloadFailure);
    expect((error as DownloadFailure).cause).toBeInstanceOf(IntegrityFailure);
    expect((error as Error).message).toContain("file.bin");
    expect(log).toHaveLength(2 * ranges.length);
    expect(await filesUnder(bed.dir.path)).toEqual([]);
  });

  it("stop at once when a piece's receiver throws: no retry", async () => {
    bed.server.serveBytes("/resource", resource);
    const source = bed.http.byteSource(bed.server.url("/resource"));
    const refusing: AssembledSource = {
      description: "a refusing source",
      async *assemble(fetchPiece, signal) {
        await fetchPiece(
          source,
          { start: 0, end: 1000 },
          () => {
            throw new RangeError("bad data");
          },
          signal,
        );
        yield Uint8Array.of(1);
      },
    };
    const error = await transferAll(
      [{ path: "x", source: refusing, size: 1, expected: {}, destination: join(bed.dir.path, "x") }],
      { settings: quickSettings() },
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RangeError);
    expect(bed.server.requestsFor("/resource")).toHaveLength(1);
  });
});
