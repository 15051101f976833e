import type { IncomingMessage, ServerResponse } from "node:http";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it, vi } from "vitest";
import { transferAll } from "../../src/transfer/engine.js";
import { generatedBytes, generatedSha256 } from "../helpers/fault-server.js";
import { MiB, filesUnder, item, quickSettings, useFaultBed } from "../helpers/transfer-fixtures.js";

const bed = useFaultBed({ freshDir: true });

/** Small parts so a few MiB make many of them. */
const parts = { parallelThresholdBytes: 1 * MiB, partSizeBytes: 128 * 1024 };
/** Each connection gets 32 KiB per 50 ms (640 KiB/s), as a CDN that caps each connection. */
const BYTES_PER_TICK = 32 * 1024;
const TICK_MS = 50;

/**
 * Serves the generated file `seed` of `size` bytes at `path`, ranges honoured, every
 * response throttled on its own; counts the responses being sent at once.
 */
function serveThrottled(path: string, size: number, seed: number) {
  /** `openAtArrival[i]`: responses being sent when request i arrived, itself included. */
  const counts = { open: 0, peak: 0, requests: 0, openAtArrival: [] as number[] };
  bed.server.route(path, async (request: IncomingMessage, response: ServerResponse) => {
    const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? "");
    const start = range ? Number(range[1]) : 0;
    const end = range?.[2] ? Number(range[2]) + 1 : size;
    counts.requests += 1;
    counts.open += 1;
    counts.peak = Math.max(counts.peak, counts.open);
    counts.openAtArrival.push(counts.open);
    // Closed when its last byte is written: the client cannot ask for its next part before
    // it has that byte, and the socket's own close may come later than that next request.
    let closed = false;
    const close = () => {
      if (!closed) counts.open -= 1;
      closed = true;
    };
    response.once("close", close);
    response.writeHead(range ? 206 : 200, {
      "content-length": String(end - start),
      ...(range ? { "content-range": `bytes ${start}-${end - 1}/${size}` } : {}),
      "accept-ranges": "bytes",
    });
    for (let offset = start; offset < end && !response.destroyed; offset += BYTES_PER_TICK) {
      const last = offset + BYTES_PER_TICK >= end;
      if (last) close();
      response.write(generatedBytes(seed, offset, Math.min(end, offset + BYTES_PER_TICK)));
      if (!last) await sleep(TICK_MS);
    }
    response.end();
  });
  return counts;
}

describe("an adaptive connection count", () => {
  afterEach(() => vi.restoreAllMocks());

  it("puts a large file's parts on more than 8 connections when each is capped, never more than the cap", async () => {
    const size = 8 * MiB;
    const counts = serveThrottled("/capped.bin", size, 21);
    const destination = join(bed.dir.path, "capped.bin");

    const [result] = await transferAll(
      [
        item(bed.http, bed.server.url("/capped.bin"), destination, {
          size,
          expected: { sha256: generatedSha256(21, size) },
        }),
      ],
      { settings: quickSettings({ concurrency: 12 }), ...parts },
    );

    expect(result).toMatchObject({ size, sha256: generatedSha256(21, size) });
    expect((await readFile(destination)).equals(generatedBytes(21, 0, size))).toBe(true);
    expect(counts.requests).toBe(size / parts.partSizeBytes);
    // It starts on 8: the 9th request is the next part of a connection that finished one
    // (150 ms of sending), not a 9th connection (two windows of 250 ms at the least). With
    // a fixed 12 the 9th request comes at once, while 8 are still open.
    expect(Math.max(...counts.openAtArrival.slice(0, 9))).toBeLessThanOrEqual(8);
    expect(counts.peak).toBeGreaterThan(8);
    expect(counts.peak).toBeLessThanOrEqual(12);
  });

  it("stays at the count a user set when it is below the starting count", async () => {
    const size = 2 * MiB;
    const counts = serveThrottled("/few.bin", size, 22);
    await transferAll([item(bed.http, bed.server.url("/few.bin"), join(bed.dir.path, "few.bin"), { size })], {
      settings: quickSettings({ concurrency: 3 }),
      ...parts,
    });
    expect(counts.peak).toBe(3);
  });

  it("leaves no timer behind when the transfer is aborted", async () => {
    const intervals: ReturnType<typeof setInterval>[] = [];
    const cleared = new Set<unknown>();
    const realSetInterval = globalThis.setInterval;
    const realClearInterval = globalThis.clearInterval;
    vi.spyOn(globalThis, "setInterval").mockImplementation(((...args: Parameters<typeof setInterval>) => {
      const timer = realSetInterval(...args);
      intervals.push(timer);
      return timer;
    }) as typeof setInterval);
    vi.spyOn(globalThis, "clearInterval").mockImplementation((timer) => {
      cleared.add(timer);
      realClearInterval(timer);
    });
    const size = 8 * MiB;
    const counts = serveThrottled("/aborted.bin", size, 23);
    const aborter = new AbortController();
    const transfer = transferAll(
      [item(bed.http, bed.server.url("/aborted.bin"), join(bed.dir.path, "aborted.bin"), { size })],
      { settings: quickSettings({ concurrency: 12 }), signal: aborter.signal, ...parts },
    );
    while (counts.requests < 8) await sleep(10);
    aborter.abort(new Error("stop"));

    await expect(transfer).rejects.toThrow("stop");
    // The governor's timer and every connection's low-speed timer were started and stopped.
    expect(intervals.length).toBeGreaterThan(0);
    expect(intervals.filter((timer) => !cleared.has(timer))).toEqual([]);
    expect(await filesUnder(bed.dir.path)).toEqual([]);
  });
});
