/**
 * The low-speed limit on API answers (listings, revisions, Xet tokens and reconstructions,
 * LFS Batch replies), not only on file bodies: a server that sends one byte every 2 s never
 * goes silent long enough for the read timeout, so without it one JSON answer of a few
 * kilobytes keeps `add`, `verify` or a build waiting for hours. Found attacking the lockfile
 * and Xet paths the way issue 14's outside run attacked the transfer engine. Real server on
 * loopback, faults server-side; the vitest timeout is the bound (no timed assertion).
 */
import { describe, expect, it } from "vitest";
import { TransferFailure } from "../../src/errors/failures.js";
import { createDispatcher } from "../../src/http/dispatcher.js";
import { lowSpeedLimitOf } from "../../src/http/settings.js";
import { retryPolicyFrom } from "../../src/retry/retry.js";
import { openS3 } from "../../src/sources/s3/client.js";
import { listS3Objects } from "../../src/sources/s3/listing.js";
import { client, lowSpeedTestSettings, useFaultBed } from "../helpers/transfer-fixtures.js";

const bed = useFaultBed();
const slow = lowSpeedTestSettings();
const BOUND_MS = 30_000;
const answer = Buffer.from(JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => `entry-${i}`) }));

async function failureOf(promise: Promise<unknown>): Promise<TransferFailure> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TransferFailure);
  return error as TransferFailure;
}

describe("the low-speed limit on API answers", () => {
  it(
    "cuts a JSON answer that drips one byte every 2 s, retries, and gives up saying why",
    async () => {
      bed.server.serveBytes("/drip.json", answer, { trickle: { bytes: 1, everyMs: 2_000 } });
      const http = client(slow);
      try {
        const failure = await failureOf(http.getJson(bed.server.url("/drip.json")));
        expect(failure.code).toBe("NMR_NETWORK");
        expect(failure.message).toMatch(/too slow: \d+ bytes in 1 s, below the low-speed limit of 100 bytes\/s/);
        expect(failure.message).toContain("/drip.json");
        expect(bed.server.requestsFor("/drip.json").length).toBe(2);
      } finally {
        await http.close();
      }
    },
    BOUND_MS,
  );

  it(
    "cuts a whole-body read (request().body.bytes) that drips, as the Xet reconstruction reads it",
    async () => {
      bed.server.serveBytes("/drip-bytes.json", answer, { trickle: { bytes: 1, everyMs: 2_000 } });
      const http = client(slow);
      try {
        const failure = await failureOf(
          http.request(bed.server.url("/drip-bytes.json")).then((response) => response.body.bytes()),
        );
        expect(failure.message).toContain("too slow: ");
      } finally {
        await http.close();
      }
    },
    BOUND_MS,
  );

  it(
    "reads a dripping answer again and succeeds when the next connection is honest",
    async () => {
      bed.server.serveBytes("/drip-once.json", answer, { trickle: { bytes: 1, everyMs: 2_000 } });
      const http = client(slow);
      // The fault server applies a trickle to every answer: switch it off once the first began.
      const first = http.getJson<{ items: string[] }>(bed.server.url("/drip-once.json"));
      await waitFor(() => bed.server.requestsFor("/drip-once.json").length === 1);
      bed.server.serveBytes("/drip-once.json", answer);
      try {
        const { body } = await first;
        expect(body.items).toHaveLength(200);
        expect(bed.server.requestsFor("/drip-once.json").length).toBe(2);
      } finally {
        await http.close();
      }
    },
    BOUND_MS,
  );

  it(
    "cuts an S3 listing that drips, though the AWS SDK reads it: the same limit, retried, then said why",
    async () => {
      const listing = Buffer.from(
        `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>drip-bucket</Name><IsTruncated>false</IsTruncated>${"<Contents><Key>tiny/a</Key><Size>1</Size></Contents>".repeat(20)}</ListBucketResult>`,
      );
      bed.server.serveBytes("/drip-bucket/", listing, { trickle: { bytes: 1, everyMs: 2_000 } });
      // The SDK's credential chain reads process.env itself.
      const keys = { AWS_ACCESS_KEY_ID: "test-key", AWS_SECRET_ACCESS_KEY: "test-secret" };
      const previous = Object.fromEntries(Object.keys(keys).map((name) => [name, process.env[name]]));
      Object.assign(process.env, keys);
      const dispatcher = createDispatcher(slow, {});
      try {
        const access = await openS3({
          region: "us-east-1",
          endpoint: bed.server.origin(),
          env: keys,
          dispatcher,
          lowSpeed: lowSpeedLimitOf(slow),
        });
        const failure = await failureOf(
          listS3Objects(
            access,
            { bucket: "drip-bucket", prefix: "tiny/" },
            retryPolicyFrom(slow),
            AbortSignal.timeout(BOUND_MS),
            () => undefined,
          ),
        );
        expect(failure.message).toMatch(/too slow: \d+ bytes in 1 s, below the low-speed limit of 100 bytes\/s/);
        expect(bed.server.requestsFor("/drip-bucket/").length).toBe(2);
      } finally {
        await dispatcher.close();
        for (const [name, value] of Object.entries(previous)) {
          if (value === undefined) delete process.env[name];
          else process.env[name] = value;
        }
      }
    },
    BOUND_MS,
  );

  it("leaves a slow but honest answer alone", async () => {
    bed.server.serveBytes("/honest.json", answer, { trickleBytesPer100Ms: 200 });
    const http = client(slow);
    try {
      const { body } = await http.getJson<{ items: string[] }>(bed.server.url("/honest.json"));
      expect(body.items).toHaveLength(200);
      expect(bed.server.requestsFor("/honest.json").length).toBe(1);
    } finally {
      await http.close();
    }
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
}
