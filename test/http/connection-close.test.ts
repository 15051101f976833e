import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { HttpClient } from "../../src/http/client.js";
import { createDispatcher } from "../../src/http/dispatcher.js";
import type { HttpSettings } from "../../src/http/settings.js";
import { s3ByteSource } from "../../src/sources/s3/byte-source.js";
import { openS3 } from "../../src/sources/s3/client.js";
import { transferAll } from "../../src/transfer/engine.js";
import { FaultServer, generatedBytes, generatedSha256, type Faults } from "../helpers/fault-server.js";
import { pythonHttpServerSkipReason, startPythonHttpServer } from "../helpers/python-http-server.js";
import { S3RVER_CREDENTIALS, s3rverAvailable, startS3Server, type S3TestServer } from "../helpers/s3-server.js";
import { MiB, client, filesUnder, item, quickSettings, sha256, tempDir } from "../helpers/transfer-fixtures.js";

/**
 * Servers that close the connection after every response: HTTP/1.0 (Python's
 * http.server), `Connection: close`, bodies ended by the close itself. Many simple
 * servers, proxies and S3-compatible stores do this.
 *
 * undici 7's HTTP/1 parser killed the process with an uncatchable AssertionError when
 * such a server's FIN arrived while our back-pressure had paused the parser
 * (nodejs/undici#5360); patches/undici+7.30.2.patch carries the upstream fix. Here the
 * engine reads slower than loopback delivers (its own bandwidth cap, as a slow disk or
 * hash would), so the parser is paused when the FIN arrives: without the fix, undici
 * throws from the socket's "end" handler, which ends the fetcher, in every test below.
 */

const FILES = 8;
const FILE_BYTES = 1 * MiB;

/** Slower than loopback, so undici's parser is paused when the server closes. */
const backPressure: HttpSettings = quickSettings({ bandwidthLimitBytesPerSec: 8 * MiB, concurrency: 4 });

let server: FaultServer;
let http: HttpClient;
let dir: { path: string; remove: () => Promise<void> };

/**
 * Exceptions thrown from an event handler that nobody catches. In the fetcher each one
 * ends the process; the test runner survives them, so each test asserts there were none.
 */
const uncaught: unknown[] = [];
const recordUncaught = (error: unknown) => uncaught.push(error);

beforeAll(async () => {
  server = await FaultServer.start();
  http = client(backPressure);
  process.on("uncaughtException", recordUncaught);
});
afterAll(async () => {
  process.off("uncaughtException", recordUncaught);
  await http.close();
  await server.close();
});
beforeEach(async () => {
  server.log.length = 0;
  uncaught.length = 0;
  dir = await tempDir();
});
afterEach(async () => {
  await dir.remove();
  expect(uncaught, "an uncaught exception would have ended the fetcher").toEqual([]);
});

/** Serves FILES generated files with `faults` and receives them all in one transfer. */
async function fetchAll(name: string, faults: Faults) {
  const items = Array.from({ length: FILES }, (_, index) => {
    const path = `/${name}/file-${index}.bin`;
    server.serveGenerated(path, FILE_BYTES, index + 1, faults);
    return item(http, server.url(path), join(dir.path, `file-${index}.bin`), {
      size: FILE_BYTES,
      expected: { sha256: generatedSha256(index + 1, FILE_BYTES) },
    });
  });
  return transferAll(items, { settings: backPressure, hashThreads: 0 });
}

describe("a server that closes the connection after every response, read with back-pressure", () => {
  it.each([
    ["Connection: close and Content-Length", "with-length"],
    ["no length: the close ends the body", "at-eof"],
  ] as const)("receives every file whole (%s)", async (_label, closeConnection) => {
    const results = await fetchAll(closeConnection, { closeConnection });

    expect(results.map((result) => result.sha256)).toEqual(
      Array.from({ length: FILES }, (_, index) => generatedSha256(index + 1, FILE_BYTES)),
    );
    // One request per file: each complete response was accepted as such, not failed and retried.
    expect(server.log.map((record) => record.path).sort()).toEqual(
      Array.from({ length: FILES }, (_, index) => `/${closeConnection}/file-${index}.bin`).sort(),
    );
    expect(await filesUnder(dir.path)).toEqual(Array.from({ length: FILES }, (_, index) => `file-${index}.bin`));
  });

  it("receives a large file in ranged parts, as from an S3-compatible store that closes", async () => {
    const size = 4 * MiB + 123;
    server.serveGenerated("/store/large.bin", size, 99, { closeConnection: "with-length" });

    const [result] = await transferAll(
      [
        item(http, server.url("/store/large.bin"), join(dir.path, "large.bin"), {
          size,
          expected: { sha256: generatedSha256(99, size) },
        }),
      ],
      { settings: backPressure, hashThreads: 0, parallelThresholdBytes: 1 * MiB, partSizeBytes: 128 * 1024 },
    );

    expect(result?.sha256).toBe(generatedSha256(99, size));
    const requests = server.requestsFor("/store/large.bin");
    expect(requests.every((record) => record.status === 206)).toBe(true);
    expect(requests).toHaveLength(Math.ceil(size / (128 * 1024)));
  });

  it("resumes a response the close cut short instead of accepting it", async () => {
    const results = await fetchAll("cut", { closeConnection: "with-length", dropAfterBytes: 300_000 });

    expect(results.map((result) => result.sha256)).toEqual(
      Array.from({ length: FILES }, (_, index) => generatedSha256(index + 1, FILE_BYTES)),
    );
    for (let index = 0; index < FILES; index++) {
      const [cut, resumed, ...more] = server.requestsFor(`/cut/file-${index}.bin`);
      expect(cut?.dropped).toBe(true);
      // From wherever the cut left it (bytes the server had not flushed yet died with its socket).
      const resumedAt = Number(/^bytes=(\d+)-$/.exec(resumed?.range ?? "")?.[1]);
      expect(resumedAt).toBeGreaterThan(0);
      expect(resumedAt).toBeLessThanOrEqual(300_000);
      expect(more).toEqual([]);
    }
  });
});

describe.skipIf(pythonHttpServerSkipReason !== undefined)(
  `Python's http.server (HTTP/1.0, closes after every response)${pythonHttpServerSkipReason ? `: ${pythonHttpServerSkipReason}` : ""}`,
  () => {
    it("receives every file whole, with back-pressure", async () => {
      const served = join(dir.path, "served");
      const received = join(dir.path, "received");
      await mkdir(served);
      const files = Array.from({ length: FILES }, (_, index) => generatedBytes(index + 1, 0, FILE_BYTES));
      for (const [index, bytes] of files.entries()) await writeFile(join(served, `file-${index}.bin`), bytes);
      const python = await startPythonHttpServer(served);
      try {
        const results = await transferAll(
          files.map((bytes, index) =>
            item(http, `${python.origin}/file-${index}.bin`, join(received, `file-${index}.bin`), {
              size: bytes.length,
              expected: { sha256: sha256(bytes) },
            }),
          ),
          { settings: backPressure, hashThreads: 0 },
        );
        expect(results.map((result) => result.sha256)).toEqual(files.map((bytes) => sha256(bytes)));
      } finally {
        await python.close();
      }
    });
  },
);

describe.skipIf(!s3rverAvailable)(
  "an S3-compatible store that closes after every response (s3rver behind a proxy)",
  () => {
    let store: S3TestServer;
    const objects = Array.from({ length: FILES }, (_, index) => generatedBytes(index + 1, 0, FILE_BYTES));

    beforeAll(async () => {
      store = await startS3Server();
      await store.createBucket("closing");
      for (const [index, bytes] of objects.entries()) await store.put("closing", `model/file-${index}.bin`, bytes);
      store.faults.closeConnections = true;
    });
    afterAll(async () => {
      await store?.close();
    });

    it("receives every object whole through the AWS SDK's undici handler, with back-pressure", async () => {
      const dispatcher = createDispatcher(backPressure, {});
      const env = { AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: "secret" };
      // The SDK's credential chain reads process.env itself.
      const previous = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
      Object.assign(process.env, env);
      try {
        const access = await openS3({ region: null, endpoint: store.url, env, dispatcher });
        const results = await transferAll(
          objects.map((bytes, index) => ({
            path: `file-${index}.bin`,
            source: s3ByteSource(access, { bucket: "closing", key: `model/file-${index}.bin`, etag: undefined }),
            size: bytes.length,
            expected: { sha256: sha256(bytes) },
            destination: join(dir.path, `file-${index}.bin`),
          })),
          { settings: backPressure, hashThreads: 0 },
        );
        expect(results.map((result) => result.sha256)).toEqual(objects.map((bytes) => sha256(bytes)));
        expect(store.requests.filter((request) => request.method === "GET")).toHaveLength(FILES);
      } finally {
        for (const [name, value] of Object.entries(previous)) {
          if (value === undefined) delete process.env[name];
          else process.env[name] = value;
        }
        await dispatcher.close();
      }
    });
  },
);
