import { createHash } from "node:crypto";
import { readdir, readFile, symlink } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { transferAll } from "../../src/transfer/engine.js";
import { DiskFailure, DownloadFailure } from "../../src/errors/failures.js";
import { generatedBytes, generatedSha256 } from "../helpers/fault-server.js";
import {
  MiB,
  client,
  filesUnder,
  gitBlobSha1,
  item,
  quickSettings,
  recordingProgress,
  sha256,
  useFaultBed,
} from "../helpers/transfer-fixtures.js";

const bed = useFaultBed({ freshDir: true });

/** Small parts so a few MiB exercise the parallel path. */
const parts = { parallelThresholdBytes: 1 * MiB, partSizeBytes: 256 * 1024 };

describe("transferAll", () => {
  it("moves files in parallel and large ones in ranged parts, byte-identical, with every digest", async () => {
    const small = Buffer.from("hello, model\n");
    bed.server.serveBytes("/small.txt", small);
    const bigSize = 5 * MiB + 12345;
    bed.server.serveGenerated("/big.bin", bigSize, 7);
    const big = generatedBytes(7, 0, bigSize);
    const progress = recordingProgress();

    const results = await transferAll(
      [
        item(bed.http, bed.server.url("/small.txt"), join(bed.dir.path, "a/small.txt"), {
          size: small.length,
          expected: {
            gitBlobSha1: gitBlobSha1(small),
            sha1: createHash("sha1").update(small).digest("hex"),
            md5: createHash("md5").update(small).digest("hex"),
          },
        }),
        item(bed.http, bed.server.url("/big.bin"), join(bed.dir.path, "b/big.bin"), {
          size: bigSize,
          expected: { sha256: sha256(big) },
        }),
      ],
      { settings: quickSettings({ concurrency: 4 }), progress, ...parts },
    );

    expect(results.map((result) => result.path)).toEqual(["small.txt", "big.bin"]);
    expect(results[0]).toMatchObject({ size: small.length, sha256: sha256(small) });
    expect(results[1]).toMatchObject({ size: bigSize, sha256: sha256(big) });
    expect((await readFile(join(bed.dir.path, "b/big.bin"))).equals(big)).toBe(true);
    expect((await readFile(join(bed.dir.path, "a/small.txt"))).equals(small)).toBe(true);
    expect(await filesUnder(bed.dir.path)).toEqual(["a/small.txt", "b/big.bin"]);

    const bigRequests = bed.server.requestsFor("/big.bin");
    expect(bigRequests.length).toBe(Math.ceil(bigSize / (256 * 1024)));
    expect(bigRequests.every((request) => /^bytes=\d+-\d+$/.test(request.range ?? ""))).toBe(true);
    expect(bigRequests.every((request) => request.acceptEncoding === "identity")).toBe(true);
    expect(progress.events).toContain(`finished big.bin ${bigSize}`);
  });

  it("starts the largest files first and still returns the results in the items' order", async () => {
    const sizes = { "a.json": 100, "b.bin": 300 * 1024, "c.json": 200, "d.bin": 900 * 1024, "e.txt": undefined };
    const items = Object.entries(sizes).map(([name, size], index) => {
      bed.server.serveGenerated(`/order/${name}`, size ?? 50, 70 + index);
      return item(bed.http, bed.server.url(`/order/${name}`), join(bed.dir.path, name), { path: name, size });
    });
    const progress = recordingProgress();

    const results = await transferAll(items, { settings: quickSettings({ concurrency: 1 }), progress });

    // One connection: the server sees the order in which files took it. Unknown sizes last.
    expect(bed.server.log.map((request) => request.path)).toEqual(
      ["d.bin", "b.bin", "c.json", "a.json", "e.txt"].map((name) => `/order/${name}`),
    );
    expect(progress.events.filter((event) => event.startsWith("started"))).toEqual(
      ["d.bin", "b.bin", "c.json", "a.json", "e.txt"].map((name) => `started ${name}`),
    );
    expect(results.map((result) => result.path)).toEqual(Object.keys(sizes));
  });

  it("resumes a single stream with Range from where the connection was cut", async () => {
    const size = 3 * MiB;
    const cut = 1 * MiB + 777;
    bed.server.serveGenerated("/cut.bin", size, 3, { dropAfterBytes: cut });
    const progress = recordingProgress();

    const [result] = await transferAll(
      [
        item(bed.http, bed.server.url("/cut.bin"), join(bed.dir.path, "cut.bin"), {
          size,
          expected: { sha256: generatedSha256(3, size) },
        }),
      ],
      { settings: quickSettings(), progress },
    );

    expect(result?.sha256).toBe(generatedSha256(3, size));
    const requests = bed.server.requestsFor("/cut.bin");
    expect(requests.length).toBe(2);
    expect(requests[0]?.dropped).toBe(true);
    expect(requests[0]?.range).toBeUndefined();
    // The client kept every byte it got: the second request starts exactly at the cut.
    expect(requests[1]?.range).toBe(`bytes=${cut}-`);
    const sent = requests.reduce((sum, request) => sum + request.bytesSent, 0);
    expect(sent).toBe(size);
    expect(progress.events.some((event) => event.startsWith("retrying cut.bin"))).toBe(true);
  });

  it("resumes a ranged part after a cut instead of starting it over", async () => {
    const size = 2 * MiB;
    bed.server.serveGenerated("/cut-parts.bin", size, 4, { dropAfterBytes: 100_000, dropTimes: 2 });

    await transferAll(
      [
        item(bed.http, bed.server.url("/cut-parts.bin"), join(bed.dir.path, "p.bin"), {
          size,
          expected: { sha256: generatedSha256(4, size) },
        }),
      ],
      { settings: quickSettings({ concurrency: 4 }), ...parts },
    );

    const requests = bed.server.requestsFor("/cut-parts.bin");
    const sent = requests.reduce((sum, request) => sum + request.bytesSent, 0);
    expect(sent).toBe(size);
    const dropped = requests.filter((request) => request.dropped);
    expect(dropped.length).toBe(2);
    for (const cutRequest of dropped) {
      const [, first] = /^bytes=(\d+)-/.exec(cutRequest.range ?? "") ?? [];
      const resumedFrom = Number(first) + 100_000;
      expect(requests.some((request) => request.range?.startsWith(`bytes=${resumedFrom}-`))).toBe(true);
    }
  });

  it("retries 503 twice then succeeds", async () => {
    const body = Buffer.from("x".repeat(1000));
    bed.server.serveBytes("/flaky.bin", body, { statuses: [{ status: 503 }, { status: 503 }] });

    const [result] = await transferAll(
      [
        item(bed.http, bed.server.url("/flaky.bin"), join(bed.dir.path, "flaky.bin"), {
          size: body.length,
          expected: { sha256: sha256(body) },
        }),
      ],
      { settings: quickSettings() },
    );

    expect(result?.sha256).toBe(sha256(body));
    expect(bed.server.requestsFor("/flaky.bin").map((request) => request.status)).toEqual([503, 503, 200]);
  });

  it("waits for Retry-After on 429", async () => {
    const body = Buffer.from("rate limited file");
    bed.server.serveBytes("/limited.bin", body, { statuses: [{ status: 429, headers: { "retry-after": "1" } }] });

    const started = performance.now();
    await transferAll(
      [item(bed.http, bed.server.url("/limited.bin"), join(bed.dir.path, "limited.bin"), { size: body.length })],
      {
        settings: quickSettings(),
      },
    );
    const elapsed = performance.now() - started;

    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(bed.server.requestsFor("/limited.bin").map((request) => request.status)).toEqual([429, 200]);
  });

  it.each([401, 403, 404])("does not retry HTTP %i, fails naming the file and leaves nothing", async (status) => {
    bed.server.serveBytes(`/denied-${status}.bin`, Buffer.from("secret"), {
      statuses: [{ status }, { status }, { status }],
    });
    bed.server.serveGenerated("/sibling.bin", 4 * MiB, 9, { trickleBytesPer100Ms: 64 * 1024 });

    const error = await transferAll(
      [
        item(bed.http, bed.server.url("/sibling.bin"), join(bed.dir.path, "sibling.bin"), { size: 4 * MiB }),
        item(bed.http, bed.server.url(`/denied-${status}.bin`), join(bed.dir.path, "denied.bin"), { size: 6 }),
      ],
      { settings: quickSettings() },
    ).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(DownloadFailure);
    expect((error as DownloadFailure).file).toBe(`denied-${status}.bin`);
    expect((error as DownloadFailure).code).toBe(status === 404 ? "NMR_NOT_FOUND" : "NMR_AUTH");
    expect((error as DownloadFailure).message).toContain(`denied-${status}.bin`);
    expect((error as DownloadFailure).message).toContain(`HTTP ${status}`);
    expect(bed.server.requestsFor(`/denied-${status}.bin`).length).toBe(1);
    // The slow sibling was cancelled and cleaned up, not left half-written.
    expect(await filesUnder(bed.dir.path)).toEqual([]);
  });

  it("fetches a file with a bad digest once more, then fails naming it, leaving no file", async () => {
    const size = 300_000;
    bed.server.serveGenerated("/corrupt.bin", size, 5, { corruptAt: 1234 });
    const good = generatedSha256(5, size);

    const error = await transferAll(
      [
        item(bed.http, bed.server.url("/corrupt.bin"), join(bed.dir.path, "blobs/corrupt.bin"), {
          path: "model.safetensors",
          size,
          expected: { sha256: good },
        }),
      ],
      { settings: quickSettings() },
    ).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(DownloadFailure);
    expect((error as DownloadFailure).code).toBe("NMR_INTEGRITY");
    expect((error as DownloadFailure).downloads).toBe(2);
    const message = (error as DownloadFailure).message;
    expect(message).toContain("model.safetensors");
    expect(message).toContain(`expected ${good}`);
    expect(message).toContain("downloaded 2 times");
    expect(bed.server.requestsFor("/corrupt.bin").length).toBe(2);
    expect(await filesUnder(bed.dir.path)).toEqual([]);
  });

  it("fails on a size mismatch, naming expected and actual", async () => {
    bed.server.serveBytes("/short.bin", Buffer.from("12345"));
    const error = await transferAll(
      [item(bed.http, bed.server.url("/short.bin"), join(bed.dir.path, "short.bin"), { size: 6 })],
      {
        settings: quickSettings(),
      },
    ).catch((caught: unknown) => caught);
    expect((error as Error).message).toContain("expected 6 bytes, the server reports 5");
    expect(await filesUnder(bed.dir.path)).toEqual([]);
  });

  it("still gets the file right when the server ignores Range (single stream and parts)", async () => {
    const size = 2 * MiB;
    const singleSize = 900_000; // below the parts threshold: one stream
    bed.server.serveGenerated("/norange.bin", singleSize, 6, { ignoreRange: true, dropAfterBytes: 500_000 });
    bed.server.serveGenerated("/norange-parts.bin", size, 8, { ignoreRange: true });

    const results = await transferAll(
      [
        item(bed.http, bed.server.url("/norange.bin"), join(bed.dir.path, "a.bin"), {
          size: singleSize,
          expected: { sha256: generatedSha256(6, singleSize) },
        }),
        item(bed.http, bed.server.url("/norange-parts.bin"), join(bed.dir.path, "b.bin"), {
          size,
          expected: { sha256: generatedSha256(8, size) },
        }),
      ],
      { settings: quickSettings({ concurrency: 4 }), ...parts },
    );

    expect(results.map((result) => result.sha256)).toEqual([generatedSha256(6, singleSize), generatedSha256(8, size)]);
    expect((await readFile(join(bed.dir.path, "b.bin"))).equals(generatedBytes(8, 0, size))).toBe(true);
    // After the cut, the resume asked for a range, got the whole file, and started over.
    expect(bed.server.requestsFor("/norange.bin")[1]?.range).toBe("bytes=500000-");
  });

  it("hashes the decoded bytes of a gzip-encoded response", async () => {
    const text = Buffer.from('{"architectures": ["Llama"]}\n'.repeat(5000));
    bed.server.serveBytes("/config.json", text, { gzip: true });

    const [result] = await transferAll(
      [
        item(bed.http, bed.server.url("/config.json"), join(bed.dir.path, "config.json"), {
          size: text.length,
          expected: { gitBlobSha1: gitBlobSha1(text) },
        }),
      ],
      { settings: quickSettings() },
    );

    expect(result).toMatchObject({ size: text.length, sha256: sha256(text) });
    expect((await readFile(join(bed.dir.path, "config.json"))).equals(text)).toBe(true);
  });

  it("sends Authorization to the credential's host and never to the redirect target", async () => {
    const body = Buffer.from("gated weights");
    bed.server.serveBytes("/gated.bin", body, { redirectToOtherHost: true });
    const credential = { authorization: "Bearer hf_secret_token_123", hosts: [new URL(bed.server.origin()).host] };

    await transferAll(
      [
        item(bed.http, bed.server.url("/gated.bin"), join(bed.dir.path, "gated.bin"), {
          size: body.length,
          credential,
          expected: { sha256: sha256(body) },
        }),
      ],
      { settings: quickSettings() },
    );

    const requests = bed.server.requestsFor("/gated.bin");
    expect(requests.map((request) => [request.host, request.authorization])).toEqual([
      ["127.0.0.1", "Bearer hf_secret_token_123"],
      ["127.0.0.2", undefined],
    ]);
  });

  it("sends ranged parts of a redirected file straight to the redirect target, and back when it expires", async () => {
    const size = 4 * MiB;
    bed.server.serveGenerated("/lfs.bin", size, 13, { redirectToOtherHost: true, otherHostExpiresAfter: 8 });
    const credential = { authorization: "Bearer hf_parts_token", hosts: [new URL(bed.server.origin()).host] };

    const [result] = await transferAll(
      [
        item(bed.http, bed.server.url("/lfs.bin"), join(bed.dir.path, "lfs.bin"), {
          size,
          credential,
          expected: { sha256: generatedSha256(13, size) },
        }),
      ],
      { settings: quickSettings({ concurrency: 2 }), ...parts },
    );

    expect(result?.sha256).toBe(generatedSha256(13, size));
    const requests = bed.server.requestsFor("/lfs.bin");
    const viaResolver = requests.filter((request) => request.host === "127.0.0.1");
    const direct = requests.filter((request) => request.host === "127.0.0.2");
    // 16 parts: the first two open through the resolver (each gets its own signature),
    // later ones go straight to a remembered URL until it "expires" after 8 uses, then one
    // more trip through the resolver signs a fresh one.
    expect(direct.filter((request) => request.status === 206).length).toBe(16);
    expect(viaResolver.length).toBeLessThanOrEqual(2 + 2);
    expect(viaResolver.every((request) => request.authorization === "Bearer hf_parts_token")).toBe(true);
    expect(direct.every((request) => request.authorization === undefined)).toBe(true);
    expect(direct.some((request) => request.status === 403)).toBe(true);
  });

  it("removes every .incomplete file when aborted", async () => {
    bed.server.serveGenerated("/slow1.bin", 2 * MiB, 1, { trickleBytesPer100Ms: 32 * 1024 });
    bed.server.serveGenerated("/slow2.bin", 4 * MiB, 2, { trickleBytesPer100Ms: 32 * 1024 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("user pressed ^C")), 300);

    const error = await transferAll(
      [
        item(bed.http, bed.server.url("/slow1.bin"), join(bed.dir.path, "slow1.bin"), { size: 2 * MiB }),
        item(bed.http, bed.server.url("/slow2.bin"), join(bed.dir.path, "slow2.bin"), { size: 4 * MiB }),
      ],
      { settings: quickSettings(), signal: controller.signal, parallelThresholdBytes: 3 * MiB, partSizeBytes: MiB },
    ).catch((caught: unknown) => caught);

    expect((error as Error).message).toBe("user pressed ^C");
    expect(await filesUnder(bed.dir.path)).toEqual([]);
  });

  it("creates a file only when its connection opens: queued files hold no descriptor", async () => {
    for (let index = 0; index < 12; index++)
      bed.server.serveGenerated(`/queued-${index}.bin`, 64 * 1024, 50 + index, { trickleBytesPer100Ms: 32 * 1024 });
    const items = Array.from({ length: 12 }, (_, index) =>
      item(bed.http, bed.server.url(`/queued-${index}.bin`), join(bed.dir.path, `q/${index}.bin`), { size: 64 * 1024 }),
    );
    let mostIncomplete = 0;
    const watcher = setInterval(() => {
      void filesUnder(bed.dir.path).then(
        (files) => {
          mostIncomplete = Math.max(mostIncomplete, files.filter((file) => file.endsWith(".incomplete")).length);
        },
        () => undefined,
      );
    }, 20);

    await transferAll(items, { settings: quickSettings({ concurrency: 3 }) }).finally(() => clearInterval(watcher));

    expect(mostIncomplete).toBeGreaterThan(0);
    expect(mostIncomplete).toBeLessThanOrEqual(3);
    expect((await filesUnder(bed.dir.path)).length).toBe(12);
  });

  it("gets the same bytes and digests hashing on the main thread and on hashing threads, with a tight memory budget", async () => {
    const size = 3 * MiB + 777;
    bed.server.serveGenerated("/threads.bin", size, 9);
    const bytes = generatedBytes(9, 0, size);
    const expected = {
      sha256: sha256(bytes),
      sha1: createHash("sha1").update(bytes).digest("hex"),
      gitBlobSha1: gitBlobSha1(bytes),
    };
    for (const hashThreads of [0, 2]) {
      const destination = join(bed.dir.path, `threads-${hashThreads}.bin`);
      const [result] = await transferAll(
        [item(bed.http, bed.server.url("/threads.bin"), destination, { size, expected })],
        {
          settings: quickSettings({ concurrency: 6 }),
          // Six parts of 256 KiB in flight and sixteen 32 KiB slabs in all: parts ahead of the frontier must wait.
          hashBufferBytes: 512 * 1024,
          hashThreads,
          ...parts,
        },
      );
      expect(result).toMatchObject({ size, sha256: expected.sha256 });
      expect((await readFile(destination)).equals(bytes)).toBe(true);
    }
  });

  // A file of one slab is written by direct system calls, a larger one through libuv's
  // thread pool (src/transfer/incomplete-file.ts). /dev/full answers every write with ENOSPC:
  // the .incomplete file is made a link to it.
  it.each([
    ["by direct calls", 64 * 1024],
    ["through the thread pool", 3 * MiB],
  ])("fails a full disk the same way %s: a DiskFailure naming the file, nothing left", async (_how, size) => {
    bed.server.serveGenerated(`/full-${size}.bin`, size, 11);
    const destination = join(bed.dir.path, `full-${size}.bin`);
    await symlink("/dev/full", `${destination}.incomplete`);
    const error = await transferAll([item(bed.http, bed.server.url(`/full-${size}.bin`), destination, { size })], {
      settings: quickSettings(),
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DownloadFailure);
    const cause = (error as DownloadFailure).cause;
    expect(cause).toBeInstanceOf(DiskFailure);
    expect(cause).toMatchObject({ errno: "ENOSPC", path: `${destination}.incomplete` });
    expect(await readdir(bed.dir.path)).toEqual([]);
  });

  it("writes an empty file", async () => {
    bed.server.serveBytes("/empty", Buffer.alloc(0));
    const [result] = await transferAll(
      [
        item(bed.http, bed.server.url("/empty"), join(bed.dir.path, "empty"), {
          size: 0,
          expected: { gitBlobSha1: gitBlobSha1(Buffer.alloc(0)) },
        }),
      ],
      { settings: quickSettings() },
    );
    expect(result).toMatchObject({ size: 0, sha256: sha256(Buffer.alloc(0)) });
    expect(await filesUnder(bed.dir.path)).toEqual(["empty"]);
  });

  it("refuses two items with one destination", async () => {
    bed.server.serveBytes("/x", Buffer.from("x"));
    const destination = join(bed.dir.path, "same");
    await expect(
      transferAll(
        [item(bed.http, bed.server.url("/x"), destination), item(bed.http, bed.server.url("/x"), destination)],
        {
          settings: quickSettings(),
        },
      ),
    ).rejects.toThrow(/two transfers write/);
  });
});

describe("transferAll retry budget", () => {
  it("resumes after a silent server once the read timeout fires", async () => {
    const size = 1 * MiB;
    bed.server.serveGenerated("/stall.bin", size, 31, { stallAfterBytes: 300_000 });
    // Timeouts belong to the client's connections.
    const impatient = client(quickSettings({ readTimeoutMs: 300 }));
    const started = performance.now();

    const [result] = await transferAll(
      [
        item(impatient, bed.server.url("/stall.bin"), join(bed.dir.path, "stall.bin"), {
          size,
          expected: { sha256: generatedSha256(31, size) },
        }),
      ],
      { settings: impatient.settings },
    ).finally(() => impatient.close());

    expect(result?.sha256).toBe(generatedSha256(31, size));
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(3000);
    expect(bed.server.requestsFor("/stall.bin").map((request) => request.range)).toEqual([undefined, "bytes=300000-"]);
  });

  it("does not count cuts that made progress against maxAttempts", async () => {
    const size = 1 * MiB;
    // 6 cuts with maxAttempts 4: would fail if every cut counted.
    bed.server.serveGenerated("/often-cut.bin", size, 32, { dropAfterBytes: 100_000, dropTimes: 6 });

    const [result] = await transferAll(
      [
        item(bed.http, bed.server.url("/often-cut.bin"), join(bed.dir.path, "often-cut.bin"), {
          size,
          expected: { sha256: generatedSha256(32, size) },
        }),
      ],
      { settings: quickSettings({ maxAttempts: 4 }) },
    );

    expect(result?.sha256).toBe(generatedSha256(32, size));
    expect(bed.server.requestsFor("/often-cut.bin").length).toBe(7);
  });

  it("gives up on a server that sends one byte per connection (hard cap: 4 × maxAttempts)", async () => {
    bed.server.serveGenerated("/trickle.bin", 100_000, 33, { dropAfterBytes: 1, dropTimes: 1_000_000 });

    const error = await transferAll(
      [item(bed.http, bed.server.url("/trickle.bin"), join(bed.dir.path, "trickle.bin"), { size: 100_000 })],
      {
        // Without the low-speed limit, which would end it sooner (test/transfer/low-speed.test.ts).
        settings: quickSettings({ maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2, lowSpeedLimitBytesPerSec: 0 }),
      },
    ).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(DownloadFailure);
    expect((error as DownloadFailure).code).toBe("NMR_NETWORK");
    expect((error as Error).message).toContain("gave up after 12 attempts");
    expect(bed.server.requestsFor("/trickle.bin").length).toBe(12);
    expect(await filesUnder(bed.dir.path)).toEqual([]);
  });
});
