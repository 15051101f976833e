/**
 * Answers a server should not give (issue 14, items 3, 7 and 8), from a real server on
 * loopback: bytes that are not HTTP, a Content-Range that cannot be, a decompression bomb, the
 * same wrong file twice, an HTML page where JSON belongs, 32 MiB of `[`, an answer longer than
 * an API call may be. Each is either retried like a reset (a one-off) or refused at once with
 * a message that says what it was, and none costs memory or disk beyond a small bound.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { DownloadFailure, TransferFailure } from "../../src/errors/failures.js";
import { transferAll } from "../../src/transfer/engine.js";
import { generatedBytes, generatedSha256 } from "../helpers/fault-server.js";
import { MiB, filesUnder, item, quickSettings, useFaultBed } from "../helpers/transfer-fixtures.js";

const bed = useFaultBed({ freshDir: true });
const settings = quickSettings({ maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 });
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

async function transferOne(path: string, options: { size?: number | undefined; sha256?: string } = {}) {
  return transferAll(
    [
      item(bed.http, bed.server.url(path), join(bed.dir.path, "out.bin"), {
        size: options.size,
        ...(options.sha256 === undefined ? {} : { expected: { sha256: options.sha256 } }),
      }),
    ],
    { settings, parallelThresholdBytes: 1 * MiB, partSizeBytes: 256 * 1024 },
  );
}

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

describe("a garbled answer", () => {
  it("that is not HTTP at all is retried like a reset", async () => {
    const content = generatedBytes(1, 0, 100_000);
    bed.server.serveBytes("/garbage-once.bin", content, { garbageTimes: 1 });
    const [result] = await transferOne("/garbage-once.bin", { size: content.length });
    expect(result?.sha256).toBe(sha256(content));
    expect(bed.server.requestsFor("/garbage-once.bin").length).toBe(2);
  });

  it("that is never HTTP fails after the retries, saying what it was", async () => {
    bed.server.serveBytes("/garbage.bin", Buffer.from("x"), { garbageTimes: 100 });
    const error = await failureOf(transferOne("/garbage.bin", { size: 1 }));
    expect(error).toBeInstanceOf(DownloadFailure);
    expect((error as DownloadFailure).code).toBe("NMR_BAD_RESPONSE");
    expect(error.message).toMatch(
      /the server.s answer is not valid HTTP \(.*\) \(http:.*\) \(gave up after 3 attempts\)$/,
    );
  });

  it("with a Content-Range that cannot be is retried, in parts and in one stream", async () => {
    const content = generatedBytes(2, 0, 3 * MiB);
    bed.server.serveBytes("/bad-range.bin", content, { badContentRangeTimes: 2 });
    const [result] = await transferOne("/bad-range.bin", { size: content.length });
    expect(result?.sha256).toBe(sha256(content));
    const ranges = bed.server.requestsFor("/bad-range.bin").map((request) => request.range);
    // The first part asked three times (two bad answers), then the other parts.
    expect(ranges.slice(0, 3)).toEqual(["bytes=0-262143", "bytes=0-262143", "bytes=0-262143"]);
    expect(ranges.length).toBe(12 + 2);
  });
});

describe("a request undici refuses to send", () => {
  it("for a value taken from a server's answer is a clear failure, not a raw UND_ERR_INVALID_ARG", async () => {
    bed.server.serveBytes("/header.bin", Buffer.from("x"));
    const source = bed.http.byteSource(bed.server.url("/header.bin"), { headers: { "x-signature": "a\u0001b" } });
    const error = await failureOf(source.open({ start: 0 }, new AbortController().signal));
    expect(error).toBeInstanceOf(TransferFailure);
    expect((error as TransferFailure).code).toBe("NMR_BAD_RESPONSE");
    expect((error as TransferFailure).retryable).toBe(false);
    expect(error.message).toMatch(
      /^cannot send the request: invalid x-signature header, a value taken from the server's answer/,
    );
  });
});

describe("a compressed answer", () => {
  /** gzip members concatenated: `count` × 16 MiB of zeros, about 16 KiB each. */
  function gzipBomb(count: number): Buffer {
    const member = gzipSync(Buffer.alloc(16 * MiB), { level: 9 });
    return Buffer.concat(Array.from({ length: count }, () => member));
  }

  it("that is a bomb is refused while it decodes, for a file without a listed size, and asked for once", async () => {
    const bomb = gzipBomb(64);
    bed.server.serveBytes("/bomb.bin", bomb, { contentEncoding: "gzip" });
    const error = await failureOf(transferOne("/bomb.bin", { size: undefined, sha256: "0".repeat(64) }));
    expect(error).toBeInstanceOf(DownloadFailure);
    expect((error as DownloadFailure).code).toBe("NMR_BAD_RESPONSE");
    expect(error.message).toContain("decodes to more than 100 times its size");
    expect(error.message).not.toContain("downloaded 2 times");
    expect(bed.server.requestsFor("/bomb.bin").length).toBe(1);
    expect(await filesUnder(bed.dir.path)).toEqual([]);
  });

  it("that decodes to what the listing says arrives whole", async () => {
    const content = Buffer.alloc(4 * MiB, 0x61);
    bed.server.serveBytes("/text.bin", gzipSync(content), { contentEncoding: "gzip" });
    const [result] = await transferOne("/text.bin", { size: content.length, sha256: sha256(content) });
    expect(result?.sha256).toBe(sha256(content));
  });
});

describe("a file that fails its digest", () => {
  it("is not downloaded again when the second answer carries the same ETag", async () => {
    const size = 64 * MiB;
    bed.server.serveGenerated("/same.bin", size, 3, { corruptAt: 10, etag: '"v1"' });
    const error = await failureOf(transferOne("/same.bin", { size: undefined, sha256: generatedSha256(3, size) }));
    expect(error).toBeInstanceOf(DownloadFailure);
    expect((error as DownloadFailure).code).toBe("NMR_INTEGRITY");
    expect(error.message).toContain(`sha256: expected ${generatedSha256(3, size)}`);
    expect(error.message).toContain(
      'the server sends the same content again (ETag "v1"), so it was not downloaded again',
    );
    const requests = bed.server.requestsFor("/same.bin");
    expect(requests.length).toBe(2);
    // The second answer was dropped after its headers, not read (what left the server sat in socket buffers).
    expect(requests[1]!.bytesSent).toBeLessThan(size / 2);
    expect(await filesUnder(bed.dir.path)).toEqual([]);
  });

  it("is downloaded once more when nothing tells the answers apart, as before", async () => {
    const content = generatedBytes(4, 0, 100_000);
    bed.server.serveBytes("/no-etag.bin", content, { corruptAt: 10 });
    const error = await failureOf(transferOne("/no-etag.bin", { size: content.length, sha256: sha256(content) }));
    expect(error.message).toContain("(downloaded 2 times)");
    expect(bed.server.requestsFor("/no-etag.bin").length).toBe(2);
  });
});

describe("an API answer", () => {
  it("that is an HTML page says invalid JSON, with its status and Content-Type", async () => {
    bed.server.route("/api/html", (_request, response) => {
      response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      response.end("<!doctype html><html><body>Sign in to the Wi-Fi</body></html>");
    });
    const error = await failureOf(bed.http.getJson(bed.server.url("/api/html")));
    expect(error).toBeInstanceOf(TransferFailure);
    expect((error as TransferFailure).code).toBe("NMR_BAD_RESPONSE");
    expect(error.message).toBe(
      `invalid JSON from ${bed.server.url("/api/html")} (HTTP 200, Content-Type text/html; charset=utf-8): expected a value, found '<' at byte 0`,
    );
  });

  it("of 32 MiB of `[` is refused at the 65th, without reading the rest", async () => {
    let sent = 0;
    bed.server.route("/api/brackets", async (_request, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      const chunk = Buffer.alloc(MiB, "[");
      for (let i = 0; i < 32 && !response.destroyed; i++) {
        sent += chunk.length;
        if (!response.write(chunk))
          await new Promise((resolve) => response.once("drain", resolve).once("close", resolve));
      }
      response.end();
    });
    const error = await failureOf(bed.http.getJson(bed.server.url("/api/brackets")));
    expect(error.message).toMatch(/^JSON nested too deeply from .* \(HTTP 200, Content-Type application\/json\): .*64/);
    expect(bed.server.requestsFor("/api/brackets").length).toBe(1);
    expect(sent).toBeLessThan(32 * MiB);
  });

  it("longer than 32 MiB says so in words", async () => {
    bed.server.route("/api/long", (_request, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(`"${"a".repeat(33 * MiB)}"`);
    });
    const error = await failureOf(bed.http.getJson(bed.server.url("/api/long")));
    expect(error.message).toBe(
      `the answer from ${bed.server.url("/api/long")} is longer than 32 MiB, the most the fetcher reads from one API call`,
    );
  });
});
