/**
 * The chunk decoder and the in-order assembler: real xorbs in memory with all three schemes,
 * ranges delivered in small pieces, dedup, hostile bytes, and the memory bound.
 */
import pLimit from "p-limit";
import { describe, expect, it } from "vitest";
import { SpillFolder } from "../../src/sources/xet/spill-folder.js";
import { assembleFile, BufferBudget, type RangeFetcher, type SpillStore } from "../../src/xet/assembler.js";
import { CompressionScheme, encodeChunk, encodeChunkHeader, parseChunkHeader } from "../../src/xet/chunk-format.js";
import { ChunkPool } from "../../src/xet/chunk-pool.js";
import { XetFormatError } from "../../src/xet/errors.js";
import { planDownload, type DownloadPlan } from "../../src/xet/planner.js";
import { parseReconstructionV1 } from "../../src/xet/reconstruction.js";
import {
  buildXorb,
  chunkBytes,
  fetchEntry,
  memoryFetcher,
  piecewise,
  sampleContent,
  term,
  type TestXorb,
} from "./xorb-fixture.js";

/** The bytes, each part copied as it comes: a yielded array is valid only until the next is asked for. */
async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(Buffer.from(part));
  return Buffer.concat(parts);
}

async function refusal(run: () => Promise<unknown>): Promise<XetFormatError> {
  const error = await run().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(XetFormatError);
  return error as XetFormatError;
}

const content = sampleContent(900_000, 3);
const xorb = buildXorb(chunkBytes(content));
const n = xorb.chunks.length;

/** The file: the whole content, then its first two chunks again (dedup within one file). */
function dedupPlan(x: TestXorb = xorb): DownloadPlan {
  const reply = {
    terms: [term(x, 0, 2), term(x, 2, x.chunks.length), term(x, 0, 2)],
    fetch_info: { [x.hash]: [fetchEntry(x, 0, x.chunks.length)] },
  };
  const length = reply.terms.reduce((sum, t) => sum + t.unpacked_length, 0);
  return planDownload(parseReconstructionV1(reply), { length, exact: true });
}
const dedupExpected = Buffer.concat([content, ...xorb.chunks.slice(0, 2)]);

describe("chunk headers", () => {
  const header = (bytes: number[]) => () => parseChunkHeader(Uint8Array.from(bytes), "chunk 7");
  it.each([
    ["a version other than 0", [1, 4, 0, 0, 0, 4, 0, 0], /chunk 7: header version 1, but Xet only defines version 0/],
    ["an unknown scheme", [0, 4, 0, 0, 9, 4, 0, 0], /unknown compression scheme 9/],
    ["an uncompressed size over 128 KiB", [0, 4, 0, 0, 1, 1, 0, 2], /declares 131073 bytes uncompressed/],
    ["a zero uncompressed size", [0, 4, 0, 0, 1, 0, 0, 0], /declares 0 bytes uncompressed/],
    ["a compressed size over 256 KiB", [0, 1, 0, 4, 1, 4, 0, 0], /declares 262145 compressed bytes/],
    ["a raw chunk whose sizes differ", [0, 5, 0, 0, 0, 4, 0, 0], /uncompressed chunk declares 5 stored bytes but 4/],
    ["a header cut short", [0, 4, 0], /ends inside its 8-byte header/],
  ])("refuses %s", (_, bytes, message) => {
    expect(header(bytes)).toThrow(message);
  });

  it("round-trips all three schemes", () => {
    for (const scheme of [CompressionScheme.None, CompressionScheme.LZ4, CompressionScheme.ByteGrouping4LZ4]) {
      const encoded = encodeChunk(xorb.chunks[0]!, scheme);
      expect(parseChunkHeader(encoded, "c").scheme).toBe(scheme);
    }
  });
});

describe("assembling a file", () => {
  it("yields the file's bytes, fetching the reused range once, from pieces of any size", async () => {
    for (const pieceSize of [1000, 7, 1 << 20]) {
      const { fetchRange, calls } = memoryFetcher([xorb], pieceSize);
      const bytes = await collect(assembleFile(dedupPlan(), { fetchRange }));
      expect(bytes.equals(dedupExpected)).toBe(true);
      expect(calls).toHaveLength(1);
    }
  });

  it("yields a range's first chunks before the rest of the range has arrived", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const halfThenWait = piecewise(async function* (fetch) {
      const body = xorb.bytes.subarray(fetch.bytes.start, fetch.bytes.end + 1);
      yield body.subarray(0, xorb.offsets[2]!);
      await gate;
      yield body.subarray(xorb.offsets[2]!);
    });
    const stream = assembleFile(dedupPlan(), { fetchRange: halfThenWait });
    const first = await stream.next();
    expect(Buffer.from(first.value as Uint8Array).equals(Buffer.from(xorb.chunks[0]!))).toBe(true);
    release();
    const rest = await collect(stream);
    expect(Buffer.concat([first.value as Uint8Array, rest]).equals(dedupExpected)).toBe(true);
  });

  it("skips offset_into_first_range and cuts the end of a byte range", async () => {
    const reply = {
      offset_into_first_range: 100,
      terms: [term(xorb, 0, 3)],
      fetch_info: { [xorb.hash]: [fetchEntry(xorb, 0, 3)] },
    };
    const plan = planDownload(parseReconstructionV1(reply), { length: 5000, exact: false });
    const bytes = await collect(assembleFile(plan, memoryFetcher([xorb])));
    expect(bytes.equals(Buffer.from(content.subarray(100, 5100)))).toBe(true);
  });

  it("refuses a term whose chunks decode to a length other than its unpacked_length", async () => {
    const reply = { terms: [term(xorb, 0, 2)], fetch_info: { [xorb.hash]: [fetchEntry(xorb, 0, 2)] } };
    reply.terms[0]!.unpacked_length -= 1;
    const plan = planDownload(parseReconstructionV1(reply), { length: reply.terms[0]!.unpacked_length, exact: true });
    const error = await refusal(() => collect(assembleFile(plan, memoryFetcher([xorb]))));
    expect(error.code).toBe("term-length");
    expect(error.message).toMatch(/decode to more than their \d+ bytes of unpacked_length/);
  });

  it("refuses a chunk whose header lies about its uncompressed size", async () => {
    const liar = { ...xorb, bytes: Uint8Array.from(xorb.bytes) };
    // Chunk 1 is LZ4 (scheme index 1 % 3): claim one byte less than it decodes to.
    const at = xorb.offsets[1]!;
    const header = parseChunkHeader(liar.bytes.subarray(at, at + 8), "c");
    liar.bytes.set(encodeChunkHeader({ ...header, uncompressedSize: header.uncompressedSize - 1 }), at);
    const error = await refusal(() => collect(assembleFile(dedupPlan(liar), memoryFetcher([liar]))));
    expect(error.code).toBe("lz4");
    expect(error.message).toMatch(/chunk 1: LZ4 data decodes to more than the \d+ bytes the chunk header declares/);
  });

  it("refuses a range whose server sends too few or too many bytes, or stray bytes", async () => {
    const short = piecewise(async function* (fetch) {
      yield xorb.bytes.subarray(fetch.bytes.start, fetch.bytes.end);
    });
    expect((await refusal(() => collect(assembleFile(dedupPlan(), { fetchRange: short })))).message).toMatch(
      /the server sent \d+ of the \d+ bytes asked for/,
    );
    const long = piecewise(async function* (fetch) {
      yield xorb.bytes.subarray(fetch.bytes.start, fetch.bytes.end + 1);
      yield Uint8Array.of(0);
    });
    expect((await refusal(() => collect(assembleFile(dedupPlan(), { fetchRange: long })))).message).toMatch(
      /more than the \d+ bytes asked for/,
    );
  });

  it("refuses a range that holds fewer chunks than its fetch entry says", async () => {
    const reply = { terms: [term(xorb, 0, 2)], fetch_info: { [xorb.hash]: [fetchEntry(xorb, 0, 3)] } };
    const entry = reply.fetch_info[xorb.hash]![0]!;
    entry.url_range.end = xorb.offsets[2]! - 1; // the bytes of two chunks for a range of three
    const plan = planDownload(parseReconstructionV1(reply), { length: reply.terms[0]!.unpacked_length, exact: true });
    const error = await refusal(() => collect(assembleFile(plan, memoryFetcher([xorb]))));
    expect(error.code).toBe("chunk-stream");
    expect(error.message).toMatch(/holds chunks up to 1, but chunks up to 2 were expected/);
  });

  it("reports the failing range's error, not the abort of the others", async () => {
    const second = buildXorb(chunkBytes(sampleContent(300_000, 9)));
    const reply = {
      terms: [term(xorb, 0, n), term(second, 0, second.chunks.length)],
      fetch_info: {
        [xorb.hash]: [fetchEntry(xorb, 0, n)],
        [second.hash]: [fetchEntry(second, 0, second.chunks.length)],
      },
    };
    const length = reply.terms.reduce((sum, t) => sum + t.unpacked_length, 0);
    const plan = planDownload(parseReconstructionV1(reply), { length, exact: true });
    const slowThenFail: RangeFetcher = async (fetch, _receive, signal) => {
      if (fetch.xorb === second.hash) throw new Error("HTTP 403 from the xorb host");
      await new Promise((resolve) => signal.addEventListener("abort", resolve));
      throw new Error("aborted");
    };
    await expect(collect(assembleFile(plan, { fetchRange: slowThenFail }))).rejects.toThrow(
      "HTTP 403 from the xorb host",
    );
  });
});

/** A fetcher of `xorbs`' ranges that counts how many are in flight at once; `most()` the highest. */
function countingInFlight(xorbs: TestXorb[]): { counting: RangeFetcher; most: () => number } {
  let inFlight = 0;
  let most = 0;
  const { fetchRange } = memoryFetcher(xorbs);
  const counting: RangeFetcher = async (fetch, receive, signal) => {
    most = Math.max(most, ++inFlight);
    try {
      await fetchRange(fetch, receive, signal);
    } finally {
      inFlight -= 1;
    }
  };
  return { counting, most: () => most };
}

describe("the memory bound", () => {
  const xorbs = [1, 2, 3, 4, 5, 6].map((seed) => buildXorb(chunkBytes(sampleContent(150_000, seed))));
  const reply = {
    terms: xorbs.map((x) => term(x, 0, x.chunks.length)),
    fetch_info: Object.fromEntries(xorbs.map((x) => [x.hash, [fetchEntry(x, 0, x.chunks.length)]])),
  };
  const length = reply.terms.reduce((sum, t) => sum + t.unpacked_length, 0);
  const plan = planDownload(parseReconstructionV1(reply), { length, exact: true });

  /** Bytes the consumer had received when each range was requested. */
  async function consumedAtEachRequest(maxBufferedBytes: number): Promise<number[]> {
    let consumed = 0;
    const seen: number[] = [];
    const { fetchRange } = memoryFetcher(xorbs);
    const recording: RangeFetcher = (fetch, receive, signal) => {
      seen.push(consumed);
      return fetchRange(fetch, receive, signal);
    };
    for await (const piece of assembleFile(plan, { fetchRange: recording, concurrency: 4, maxBufferedBytes }))
      consumed += piece.length;
    expect(consumed).toBe(length);
    return seen;
  }

  it("with room for one range, starts each when the writer begins the one before (one ahead)", async () => {
    const seen = await consumedAtEachRequest(1);
    const starts = reply.terms.map((_, index) =>
      reply.terms.slice(0, index).reduce((sum, t) => sum + t.unpacked_length, 0),
    );
    expect(seen).toEqual([0, ...starts.slice(0, -1)]);
  });

  it("a range started ahead takes one piece before the writer gets to it", async () => {
    let consumed = 0;
    const piecesEarly = new Map<string, number>();
    const startOf = new Map(
      reply.terms.map((t, index) => [
        t.hash,
        reply.terms.slice(0, index).reduce((sum, before) => sum + before.unpacked_length, 0),
      ]),
    );
    const { fetchRange } = memoryFetcher(xorbs);
    const counting: RangeFetcher = (fetch, receive, signal) =>
      fetchRange(
        fetch,
        (piece) => {
          if (consumed < startOf.get(fetch.xorb)!) piecesEarly.set(fetch.xorb, (piecesEarly.get(fetch.xorb) ?? 0) + 1);
          return receive(piece);
        },
        signal,
      );
    for await (const piece of assembleFile(plan, { fetchRange: counting, maxBufferedBytes: 1 })) {
      consumed += piece.length;
      await new Promise((resolve) => setImmediate(resolve)); // a writer slower than the network
    }
    expect(consumed).toBe(length);
    // Every range but the first was asked for early, and held at its first piece until then.
    expect([...piecesEarly.values()]).toEqual(Array(xorbs.length - 1).fill(1));
  });

  it("a budget shared by two files holds each to its needed range and one ahead when the budget is spent", async () => {
    const budget = new BufferBudget(1);
    const { counting, most } = countingInFlight(xorbs);
    const [a, b] = await Promise.all(
      [1, 2].map(() => collect(assembleFile(plan, { fetchRange: counting, concurrency: 4, budget }))),
    );
    expect(a!.length).toBe(length);
    expect(b!.equals(a!)).toBe(true);
    expect(most()).toBe(4);
    expect(budget.reserved).toBe(0);
  });

  it("with room for all, starts up to `concurrency` ranges at once", async () => {
    const seen = await consumedAtEachRequest(1 << 30);
    expect(seen.slice(0, 4)).toEqual([0, 0, 0, 0]);
  });
});

/** As collect, with a turn of the event loop after each part: a writer slower than the network, busy when chunks arrive. */
async function collectSlowly(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) {
    parts.push(Buffer.from(part));
    await new Promise((resolve) => setImmediate(resolve));
  }
  return Buffer.concat(parts);
}

describe("a range ahead of a busy writer waits for it", () => {
  const noise = buildXorb(chunkBytes(sampleContent(900_000, 7)), [CompressionScheme.None]);
  /** The plan of a file of `terms` ([xorb, first chunk, end chunk]), each xorb fetched whole once. */
  function planOf(terms: Array<[TestXorb, number, number]>): DownloadPlan {
    const xorbs = [...new Set(terms.map(([x]) => x))];
    const reply = {
      terms: terms.map(([x, start, end]) => term(x, start, end)),
      fetch_info: Object.fromEntries(xorbs.map((x) => [x.hash, [fetchEntry(x, 0, x.chunks.length)]])),
    };
    const length = reply.terms.reduce((sum, t) => sum + t.unpacked_length, 0);
    return planDownload(parseReconstructionV1(reply), { length, exact: true });
  }
  const whole = (x: TestXorb) => planOf([[x, 0, x.chunks.length]]);
  /** The bytes of `noise`, decoded. */
  const noiseLength = noise.chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  /** A file of all of `noise`, then all of a stored xorb of `laterBytes` (one range each). */
  function noiseThenLater(laterBytes: number) {
    const later = buildXorb(chunkBytes(sampleContent(laterBytes, 9)), [CompressionScheme.None]);
    const plan = planOf([
      [noise, 0, noise.chunks.length],
      [later, 0, later.chunks.length],
    ]);
    return { later, plan };
  }

  const aTimerTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 1));

  /**
   * The range of `noise` comes with its slot, each piece of it after `pace` (by default a
   * timer's turn: slowly); `later`'s at once. `afterLaterPiece` runs after each piece of
   * `later` is handed over.
   */
  function slowThenFast(
    later: TestXorb,
    {
      afterLaterPiece = () => {},
      pace = aTimerTurn,
    }: { afterLaterPiece?: () => void; pace?: (offset: number) => Promise<void> } = {},
  ) {
    const fast = memoryFetcher([later]).fetchRange;
    let laterReceived = 0;
    const fetchRange: RangeFetcher = (fetch, receive, signal, onSlot) =>
      fetch.xorb === noise.hash
        ? piecewise(async function* () {
            for (let offset = 0; offset < noise.bytes.length; offset += 3000) {
              await pace(offset);
              yield noise.bytes.subarray(offset, offset + 3000);
            }
          })(fetch, receive, signal, onSlot)
        : fast(
            fetch,
            (piece) => {
              laterReceived += piece.length;
              const held = receive(piece);
              afterLaterPiece();
              return held;
            },
            signal,
          );
    return { fetchRange, laterReceived: () => laterReceived };
  }

  it("holds at most `leadBytes` and the chunks in hand ahead of a slow writer", async () => {
    const leadBytes = 50_000;
    let received = 0;
    const { fetchRange } = memoryFetcher([noise]);
    const counting: RangeFetcher = (fetch, receive, signal) =>
      fetchRange(
        fetch,
        (piece) => {
          received += piece.length;
          return receive(piece);
        },
        signal,
      );
    let written = 0;
    let mostAhead = 0;
    for await (const piece of assembleFile(whole(noise), { fetchRange: counting, leadBytes })) {
      mostAhead = Math.max(mostAhead, received - written);
      written += piece.length;
      await new Promise((resolve) => setImmediate(resolve)); // a writer slower than the network
    }
    expect(written).toBe(noise.bytes.length - 8 * noise.chunks.length);
    // The lead, the chunk just yielded, the one being gathered and one piece (3000 bytes).
    const largestChunk = Math.max(...noise.chunks.map((chunk) => chunk.length + 8));
    expect(mostAhead).toBeLessThanOrEqual(leadBytes + 2 * largestChunk + 3000);
    expect(mostAhead).toBeLessThan(noise.bytes.length / 2);
  });

  it("holds a range the writer is not on yet to the lead too", async () => {
    const { later, plan } = noiseThenLater(600_000);
    const { fetchRange } = memoryFetcher([noise, later]);
    let laterReceived = 0;
    const counting: RangeFetcher = (fetch, receive, signal) =>
      fetchRange(
        fetch,
        (piece) => {
          if (fetch.xorb === later.hash) laterReceived += piece.length;
          return receive(piece);
        },
        signal,
      );
    const leadBytes = 50_000;
    let written = 0;
    let laterAtSwitch = -1;
    for await (const piece of assembleFile(plan, { fetchRange: counting, leadBytes, maxBufferedBytes: 1 << 30 })) {
      written += piece.length;
      if (written >= noiseLength && laterAtSwitch < 0) laterAtSwitch = laterReceived;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(written).toBe(plan.length);
    // Both ranges started at once; while the writer was busy with the first, the second
    // stopped at the lead (plus the chunk being gathered and a piece), not at its 600 KB.
    const largestChunk = Math.max(...later.chunks.map((chunk) => chunk.length + 8));
    expect(laterAtSwitch).toBeGreaterThan(0);
    expect(laterAtSwitch).toBeLessThanOrEqual(leadBytes + 2 * largestChunk + 3000);
  });

  it("holds a range ahead to the lead while the writer waits for another that is receiving", async () => {
    const { later, plan } = noiseThenLater(600_000);
    const slowFirst = slowThenFast(later);
    const leadBytes = 50_000;
    let written = 0;
    let laterAtSwitch = -1;
    const options = { fetchRange: slowFirst.fetchRange, leadBytes, maxBufferedBytes: 1 << 30 };
    for await (const piece of assembleFile(plan, options)) {
      written += piece.length;
      if (written >= noiseLength && laterAtSwitch < 0) laterAtSwitch = slowFirst.laterReceived();
    }
    expect(written).toBe(plan.length);
    // The writer waited for the first range nearly all the time; the second still stopped at
    // the lead, not at its 600 KB: the first had its connection and needed nothing of it.
    const largestChunk = Math.max(...later.chunks.map((chunk) => chunk.length + 8));
    expect(laterAtSwitch).toBeGreaterThan(0);
    expect(laterAtSwitch).toBeLessThanOrEqual(leadBytes + 2 * largestChunk + 3000);
  });

  it("lets a range held at its lead go on, on disk, once the writer starves for one that is receiving", async () => {
    const { later, plan } = noiseThenLater(1_500_000);
    const pool = new ChunkPool(1 << 30);
    let mostLent = 0;
    const slowFirst = slowThenFast(later, {
      afterLaterPiece: () => {
        mostLent = Math.max(mostLent, pool.lentBytes);
      },
    });
    const leadBytes = 50_000;
    const folder = new SpillFolder();
    const parts: Buffer[] = [];
    let written = 0;
    let laterAtSwitch = -1;
    try {
      const options = {
        fetchRange: slowFirst.fetchRange,
        leadBytes,
        maxBufferedBytes: 1 << 30,
        pool,
        spill: folder,
        spillBudget: new BufferBudget(1 << 30),
        starvationWindowMs: 0,
      };
      for await (const piece of assembleFile(plan, options)) {
        parts.push(Buffer.from(piece));
        written += piece.length;
        if (written >= noiseLength && laterAtSwitch < 0) laterAtSwitch = slowFirst.laterReceived();
      }
    } finally {
      folder.dispose();
    }
    expect(Buffer.concat(parts).equals(Buffer.concat([...noise.chunks, ...later.chunks]))).toBe(true);
    // The second range was whole by the time the writer got to it, and what it kept in memory
    // stayed near the lead: its chunks past the lead went to disk. Beside the lead, a few
    // buffers in flight (a chunk being decoded in each range, the one the writer holds), each
    // at most 144 KiB (a 128 KiB chunk's class or the next): four of them is a loose bound.
    expect(laterAtSwitch).toBe(later.bytes.length);
    expect(mostLent).toBeGreaterThan(0);
    expect(mostLent).toBeLessThanOrEqual(leadBytes + 4 * 144 * 1024);
  });

  it("lets a held range go on to disk during one long wait of the writer, not only at the next", async () => {
    const { later, plan } = noiseThenLater(600_000);
    // The first range comes at once but for one stall of 300 ms, 15 starvation windows.
    let laterAtStallEnd = -1;
    const slowFirst = slowThenFast(later, {
      pace: async (offset) => {
        if (offset !== 30_000) return;
        await new Promise((resolve) => setTimeout(resolve, 300));
        laterAtStallEnd = slowFirst.laterReceived();
      },
    });
    const folder = new SpillFolder();
    try {
      const options = {
        fetchRange: slowFirst.fetchRange,
        leadBytes: 50_000,
        maxBufferedBytes: 1 << 30,
        spill: folder,
        spillBudget: new BufferBudget(1 << 30),
        starvationWindowMs: 20,
      };
      const bytes = await collect(assembleFile(plan, options));
      expect(bytes.equals(Buffer.concat([...noise.chunks, ...later.chunks]))).toBe(true);
    } finally {
      folder.dispose();
    }
    expect(laterAtStallEnd).toBe(later.bytes.length);
  });

  it("goes on while the writer waits, though chunks kept for a later term are over the lead", async () => {
    const { fetchRange } = memoryFetcher([xorb]);
    const bytes = await collectSlowly(assembleFile(dedupPlan(), { fetchRange, leadBytes: 1 }));
    expect(bytes.equals(dedupExpected)).toBe(true);
  });

  it("goes on once the writer waits for another range, which needs its connection", async () => {
    const other = buildXorb(chunkBytes(sampleContent(200_000, 8)));
    const half = Math.floor(noise.chunks.length / 2);
    const plan = planOf([
      [noise, 0, half],
      [other, 0, other.chunks.length],
      [noise, half, noise.chunks.length],
    ]);
    const { fetchRange } = memoryFetcher([noise, other]);
    // One connection, as the engine's limit gives slots (src/transfer/receive-assembled.ts):
    // the second range gets it only when the first, waiting for the writer, lets go of it.
    const oneConnection = pLimit(1);
    const limited: RangeFetcher = (fetch, receive, signal, onSlot) =>
      oneConnection(() => fetchRange(fetch, receive, signal, onSlot));
    const bytes = await collectSlowly(assembleFile(plan, { fetchRange: limited, leadBytes: 1 }));
    const chunks = (x: TestXorb, start: number, end: number) => Buffer.concat(x.chunks.slice(start, end));
    expect(
      bytes.equals(
        Buffer.concat([
          chunks(noise, 0, half),
          chunks(other, 0, other.chunks.length),
          chunks(noise, half, noise.chunks.length),
        ]),
      ),
    ).toBe(true);
  });

  it("lets a range ahead go on while the writer waits for one whose fetcher takes a connection per try", async () => {
    const { later, plan } = noiseThenLater(600_000);
    const oneConnection = pLimit(1);
    const pieces = (bytes: Uint8Array) =>
      (async function* () {
        for (let offset = 0; offset < bytes.length; offset += 3000) yield bytes.subarray(offset, offset + 3000);
      })();
    const handOver = async (bytes: Uint8Array, receive: Parameters<RangeFetcher>[1]) => {
      for await (const piece of pieces(bytes)) await receive(piece);
    };
    // No onSlot: the first range's first try ends after a piece, and its second try queues for
    // the one connection behind the second range, which took it in between. Had that first
    // piece been taken as a sign of a slot, the second range would wait for the writer at its
    // lead, holding the connection the writer waits for.
    const perTry: RangeFetcher = async (fetch, receive) => {
      if (fetch.xorb === later.hash) return oneConnection(() => handOver(later.bytes, receive));
      await oneConnection(() => handOver(noise.bytes.subarray(0, 3000), receive));
      await oneConnection(() => handOver(noise.bytes.subarray(3000), receive));
    };
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("the writer and the second range waited for each other")), 5000);
    });
    const bytes = await Promise.race([
      collect(assembleFile(plan, { fetchRange: perTry, leadBytes: 50_000, maxBufferedBytes: 1 << 30 })),
      stuck,
    ]).finally(() => clearTimeout(timer));
    expect(bytes.equals(Buffer.concat([...noise.chunks, ...later.chunks]))).toBe(true);
  });

  it("ends when the writer stops early with the download waiting for it", async () => {
    const { fetchRange } = memoryFetcher([noise]);
    for await (const _piece of assembleFile(whole(noise), { fetchRange, leadBytes: 1 })) break;
  });
});

describe("decoded chunks in a pool", () => {
  const xorbs = [21, 22, 23].map((seed) => buildXorb(chunkBytes(sampleContent(300_000, seed))));
  const reply = {
    offset_into_first_range: 1000,
    terms: [...xorbs.map((x) => term(x, 0, x.chunks.length)), term(xorbs[0]!, 1, 3), term(xorbs[2]!, 0, 2)],
    fetch_info: Object.fromEntries(xorbs.map((x) => [x.hash, [fetchEntry(x, 0, x.chunks.length)]])),
  };
  const whole = reply.terms.reduce((sum, t) => sum + t.unpacked_length, 0);
  const plan = planDownload(parseReconstructionV1(reply), { length: whole - 1000 - 500, exact: false });
  const expected = Buffer.concat([
    ...xorbs.map((x) => Buffer.concat(x.chunks)),
    ...xorbs[0]!.chunks.slice(1, 3),
    ...xorbs[2]!.chunks.slice(0, 2),
  ]).subarray(1000, whole - 500);

  it("never reuses a chunk the writer holds, and gets every chunk back by the end", async () => {
    const pool = new ChunkPool(1 << 30);
    const { fetchRange } = memoryFetcher(xorbs, 1000);
    const parts: Buffer[] = [];
    for await (const piece of assembleFile(plan, { fetchRange, concurrency: 3, leadBytes: 1, pool })) {
      const copy = Buffer.from(piece);
      // While the writer holds the piece, the downloads go on and decode into the pool's buffers.
      for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
      expect(Buffer.from(piece).equals(copy)).toBe(true);
      parts.push(copy);
    }
    expect(Buffer.concat(parts).equals(expected)).toBe(true);
    expect(pool.lentBytes).toBe(0);
  });

  it("gets back the chunks of ranges kept on disk, and of a file the writer stops reading", async () => {
    const folder = new SpillFolder();
    const pool = new ChunkPool(1 << 30);
    try {
      const options = {
        fetchRange: memoryFetcher(xorbs).fetchRange,
        concurrency: 3,
        budget: new BufferBudget(1),
        spill: folder,
        spillBudget: new BufferBudget(1 << 30),
        starvationWindowMs: 0,
        pool,
      };
      expect((await collect(assembleFile(plan, options))).equals(expected)).toBe(true);
      expect(pool.lentBytes).toBe(0);
      let pieces = 0;
      for await (const _piece of assembleFile(plan, { ...options, spill: undefined })) if (++pieces === 5) break;
      expect(pool.lentBytes).toBe(0);
    } finally {
      folder.dispose();
    }
  });
});

describe("ranges kept on disk (a spill store)", () => {
  const xorbs = [11, 12, 13, 14, 15, 16].map((seed) => buildXorb(chunkBytes(sampleContent(150_000, seed))));
  const reply = {
    terms: [...xorbs.map((x) => term(x, 0, x.chunks.length)), term(xorbs[1]!, 0, 2)],
    fetch_info: Object.fromEntries(xorbs.map((x) => [x.hash, [fetchEntry(x, 0, x.chunks.length)]])),
  };
  const length = reply.terms.reduce((sum, t) => sum + t.unpacked_length, 0);
  const plan = planDownload(parseReconstructionV1(reply), { length, exact: true });
  const expected = Buffer.concat([...xorbs.map((x) => Buffer.concat(x.chunks)), ...xorbs[1]!.chunks.slice(0, 2)]);

  /** A SpillFolder that counts what it is asked to do. */
  function countingSpill() {
    const folder = new SpillFolder();
    const counts = { opened: 0, closed: 0, written: 0, read: 0 };
    const spill: SpillStore = {
      open() {
        counts.opened += 1;
        const range = folder.open();
        return {
          write(data) {
            counts.written += 1;
            return range.write(data);
          },
          read(chunk) {
            counts.read += 1;
            return range.read(chunk);
          },
          close() {
            counts.closed += 1;
            range.close();
          },
        };
      },
    };
    return { folder, spill, counts };
  }

  it("starts the ranges memory has no room for at once, and gives the same bytes", async () => {
    const { folder, spill, counts } = countingSpill();
    const budget = new BufferBudget(1);
    const spillBudget = new BufferBudget(1 << 30);
    const { counting, most } = countingInFlight(xorbs);
    try {
      const bytes = await collect(
        assembleFile(plan, { fetchRange: counting, concurrency: 4, budget, spill, spillBudget, starvationWindowMs: 0 }),
      );
      expect(bytes.equals(expected)).toBe(true);
    } finally {
      folder.dispose();
    }
    expect(most()).toBe(4);
    // Ranges started while the writer waited went to disk; every chunk kept there was read back.
    expect(counts.opened).toBeGreaterThanOrEqual(3);
    expect(counts.closed).toBe(counts.opened);
    expect(counts.read).toBeGreaterThanOrEqual(counts.written);
    expect(budget.reserved).toBe(0);
    expect(spillBudget.reserved).toBe(0);
  });

  it("lets the range started ahead go on, on disk, as soon as the writer starves", async () => {
    const { folder, spill, counts } = countingSpill();
    const secondStart = xorbs[0]!.chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    let consumed = 0;
    let secondEarly = 0;
    // A network slower than the writer: a turn of the event loop before each piece.
    const slow = piecewise(async function* (fetch) {
      const xorb = xorbs.find((candidate) => candidate.hash === fetch.xorb)!;
      const body = xorb.bytes.subarray(fetch.bytes.start, fetch.bytes.end + 1);
      for (let offset = 0; offset < body.length; offset += 3000) {
        await new Promise((resolve) => setImmediate(resolve));
        if (fetch.xorb === xorbs[1]!.hash && consumed < secondStart) secondEarly += 1;
        yield body.subarray(offset, offset + 3000);
      }
    });
    const options = {
      fetchRange: slow,
      concurrency: 4,
      budget: new BufferBudget(1),
      spill,
      spillBudget: new BufferBudget(1 << 30),
      starvationWindowMs: 0,
    };
    try {
      for await (const piece of assembleFile(plan, options)) consumed += piece.length;
    } finally {
      folder.dispose();
    }
    expect(consumed).toBe(length);
    // Held at its first piece, the second range would have taken one before the writer got to it.
    expect(secondEarly).toBeGreaterThan(1);
    expect(counts.opened).toBeGreaterThanOrEqual(1);
  });

  it("sends no range to disk while the writer is not kept waiting most of the time", async () => {
    const { folder, spill, counts } = countingSpill();
    const { fetchRange } = memoryFetcher(xorbs);
    try {
      const options = {
        fetchRange,
        concurrency: 4,
        maxBufferedBytes: 1,
        spill,
        spillBudget: new BufferBudget(1 << 30),
      };
      expect((await collect(assembleFile(plan, options))).equals(expected)).toBe(true);
    } finally {
      folder.dispose();
    }
    expect(counts.opened).toBe(0);
  });

  it("with the disk budget spent, a range waits as it would for memory", async () => {
    const { folder, spill } = countingSpill();
    const seen: number[] = [];
    let consumed = 0;
    const { fetchRange } = memoryFetcher(xorbs);
    const recording: RangeFetcher = (fetch, receive, signal) => {
      seen.push(consumed);
      return fetchRange(fetch, receive, signal);
    };
    const spillBudget = new BufferBudget(1);
    try {
      const options = {
        fetchRange: recording,
        concurrency: 4,
        maxBufferedBytes: 1,
        spill,
        spillBudget,
        starvationWindowMs: 0,
      };
      for await (const piece of assembleFile(plan, options)) consumed += piece.length;
    } finally {
      folder.dispose();
    }
    // One range in memory (the one being written) and one on disk: the third starts only after a release.
    expect(seen.slice(0, 2)).toEqual([0, 0]);
    expect(seen[2]).toBeGreaterThan(0);
    expect(spillBudget.reserved).toBe(0);
  });

  it("gives every place back when a range fails", async () => {
    const { folder, spill, counts } = countingSpill();
    const spillBudget = new BufferBudget(1 << 30);
    const { fetchRange } = memoryFetcher(xorbs);
    const failing: RangeFetcher = async (fetch, receive, signal) => {
      if (fetch.xorb === xorbs[3]!.hash) throw new Error("the connection broke");
      await fetchRange(fetch, receive, signal);
    };
    try {
      await expect(
        collect(
          assembleFile(plan, {
            fetchRange: failing,
            concurrency: 4,
            maxBufferedBytes: 1,
            spill,
            spillBudget,
            starvationWindowMs: 0,
          }),
        ),
      ).rejects.toThrow("the connection broke");
    } finally {
      folder.dispose();
    }
    expect(counts.opened).toBeGreaterThan(0);
    expect(counts.closed).toBe(counts.opened);
    expect(spillBudget.reserved).toBe(0);
  });
});
