/** Parsing reconstruction replies (V1 and V2) and planning downloads from them, hostile input included. */
import { describe, expect, it } from "vitest";
import { XetFormatError } from "../../src/xet/errors.js";
import { planDownload } from "../../src/xet/planner.js";
import {
  MAX_RECONSTRUCTION_REPLY_BYTES,
  parseReconstructionReply,
  parseReconstructionV1,
  parseReconstructionV2,
} from "../../src/xet/reconstruction.js";
import { buildXorb, chunkBytes, fetchEntry, sampleContent, term, urlFor } from "./xorb-fixture.js";

const xorb = buildXorb(chunkBytes(sampleContent(600_000, 1)));
const other = buildXorb(chunkBytes(sampleContent(200_000, 2)));
const count = xorb.chunks.length;
const size = (start: number, end: number) =>
  xorb.chunks.slice(start, end).reduce((sum, chunk) => sum + chunk.length, 0);

const v1 = () => ({
  offset_into_first_range: 0,
  terms: [term(xorb, 0, 2), term(other, 0, other.chunks.length), term(xorb, 2, count), term(xorb, 0, 2)],
  fetch_info: {
    [xorb.hash]: [fetchEntry(xorb, 0, count)],
    [other.hash]: [fetchEntry(other, 0, other.chunks.length)],
  },
});
const v1Length = size(0, count) + size(0, 2) + other.chunks.reduce((sum, chunk) => sum + chunk.length, 0);

function expectRefused(run: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected a refusal matching ${message}`).toBeInstanceOf(XetFormatError);
  expect((caught as XetFormatError).code).toBe("reconstruction");
  expect((caught as Error).message).toMatch(message);
}

describe("reconstruction replies", () => {
  it("parses V1 and V2 into the same fetches", () => {
    const fromV1 = parseReconstructionV1(v1());
    const fromV2 = parseReconstructionV2({
      offset_into_first_range: 0,
      terms: v1().terms,
      xorbs: {
        [xorb.hash]: [
          {
            url: urlFor(xorb),
            ranges: [{ chunks: { start: 0, end: count }, bytes: { start: 0, end: xorb.bytes.length - 1 } }],
          },
        ],
        [other.hash]: [
          {
            url: urlFor(other),
            ranges: [
              { chunks: { start: 0, end: other.chunks.length }, bytes: { start: 0, end: other.bytes.length - 1 } },
            ],
          },
        ],
      },
    });
    expect(fromV2).toEqual(fromV1);
    expect(fromV1.terms[0]).toEqual({ xorb: xorb.hash, chunks: { start: 0, end: 2 }, unpackedLength: size(0, 2) });
  });

  const hostile: Array<[string, (reply: ReturnType<typeof v1> & Record<string, unknown>) => void, RegExp]> = [
    ["terms not an array", (reply) => Object.assign(reply, { terms: {} }), /terms must be an array/],
    [
      "a term hash that is not hex",
      (reply) => Object.assign(reply.terms[0]!, { hash: "*".repeat(64) }),
      /terms\[0\]\.hash must be a xorb hash/,
    ],
    [
      "an empty chunk range",
      (reply) => Object.assign(reply.terms[0]!, { range: { start: 2, end: 2 } }),
      /terms\[0\]\.range\.end must be an integer from 3/,
    ],
    [
      "a fractional index",
      (reply) => Object.assign(reply.terms[0]!, { range: { start: 0.5, end: 2 } }),
      /terms\[0\]\.range\.start must be an integer/,
    ],
    [
      "an unpacked length over 128 KiB a chunk",
      (reply) => Object.assign(reply.terms[0]!, { unpacked_length: 2 * 131072 + 1 }),
      /unpacked_length must be an integer from 2 to 262144/,
    ],
    [
      "a negative offset",
      (reply) => Object.assign(reply, { offset_into_first_range: -1 }),
      /offset_into_first_range must be an integer/,
    ],
    [
      "a huge number",
      (reply) => Object.assign(reply, { offset_into_first_range: 1e300 }),
      /offset_into_first_range must be an integer/,
    ],
    [
      "a file: URL",
      (reply) => Object.assign(reply.fetch_info[xorb.hash]![0]!, { url: "file:///etc/passwd" }),
      /must be an http\(s\) URL, got the scheme file:/,
    ],
    [
      "a URL that is not one",
      (reply) => Object.assign(reply.fetch_info[xorb.hash]![0]!, { url: "not a url" }),
      /url is not a URL/,
    ],
    [
      "a byte range ending before it starts",
      (reply) => Object.assign(reply.fetch_info[xorb.hash]![0]!, { url_range: { start: 10, end: 9 } }),
      /url_range\.end must be an integer from 10/,
    ],
    [
      "a byte range longer than a xorb can be (64 MiB of data and 8192 chunk headers)",
      (reply) =>
        Object.assign(reply.fetch_info[xorb.hash]![0]!, { url_range: { start: 0, end: 64 * 1024 * 1024 + 8192 * 8 } }),
      /url_range\.end must be an integer from 0 to 67174399/,
    ],
    [
      "a chunk index past the 8192 chunks a xorb holds",
      (reply) => Object.assign(reply.terms[0]!, { range: { start: 8190, end: 8193 } }),
      /terms\[0\]\.range\.end must be an integer from 8191 to 8192/,
    ],
    [
      "a term longer than the 64 MiB a xorb holds",
      (reply) => Object.assign(reply.terms[0]!, { range: { start: 0, end: 600 }, unpacked_length: 600 * 131072 }),
      /unpacked_length must be an integer from 600 to 67108864/,
    ],
    [
      "a byte range too short for its chunks",
      (reply) => Object.assign(reply.fetch_info[xorb.hash]![0]!, { url_range: { start: 0, end: 8 } }),
      /spans 9 bytes, too few for \d+ chunks/,
    ],
    [
      "fetch_info keyed by a non-hash",
      (reply) => Object.assign(reply, { fetch_info: { "../x": [] } }),
      /a key of fetch_info must be a xorb hash/,
    ],
  ];

  it.each(hostile)("refuses %s", (_, spoil, message) => {
    const reply = v1() as ReturnType<typeof v1> & Record<string, unknown>;
    spoil(reply);
    expectRefused(() => parseReconstructionV1(reply), message);
  });

  it("parses a reply body with bounds: size, nesting and text length", () => {
    const body = (value: unknown) => Buffer.from(JSON.stringify(value));
    expect(parseReconstructionReply(body(v1()), 1)).toEqual(parseReconstructionV1(v1()));
    expectRefused(
      () => parseReconstructionReply(Buffer.alloc(MAX_RECONSTRUCTION_REPLY_BYTES + 1, 0x20), 2),
      /not JSON the protocol allows: .*at byte/,
    );
    expectRefused(() => parseReconstructionReply(Buffer.from("[".repeat(100_000)), 2), /not JSON the protocol allows/);
    const longUrl = v1();
    longUrl.fetch_info[xorb.hash]![0]!.url = `https://x.example/${"a".repeat(100_000)}`;
    expectRefused(() => parseReconstructionReply(body(longUrl), 1), /not JSON the protocol allows/);
    expectRefused(() => parseReconstructionReply(Buffer.from("<html>busy</html>"), 2), /not JSON/);
  });

  it("refuses a V2 reply without xorbs, and a non-object", () => {
    expectRefused(() => parseReconstructionV2({ terms: [] }), /xorbs must be an object/);
    expectRefused(() => parseReconstructionV1([]), /the reply must be an object/);
  });
});

describe("download plans", () => {
  it("fetches each range once however many terms reuse it, in order of first use", () => {
    const plan = planDownload(parseReconstructionV1(v1()), { length: v1Length, exact: true });
    expect(plan.fetches.map((fetch) => fetch.xorb)).toEqual([xorb.hash, other.hash]);
    expect(plan.terms.map((t) => t.fetch)).toEqual([0, 1, 0, 0]);
    expect(plan.fetches[0]!.lastTerm).toBe(3);
    expect(plan.fetches[0]!.keep).toEqual([{ start: 0, end: count }]);
    expect(plan.fetches[0]!.keptBytesBound).toBe(size(0, count) + size(0, 2));
  });

  it("refuses a term outside every fetch entry of its xorb", () => {
    const reply = v1();
    reply.fetch_info[xorb.hash] = [fetchEntry(xorb, 0, 2), fetchEntry(xorb, 3, count)];
    expectRefused(
      () => planDownload(parseReconstructionV1(reply), { length: v1Length, exact: true }),
      new RegExp(
        `terms\\[2\\] \\(chunks 2-${count - 1} of xorb ${xorb.hash.slice(0, 12)}…\\) is not inside any fetch entry`,
      ),
    );
  });

  it("refuses a term whose xorb has no fetch entries", () => {
    const reply = v1();
    delete (reply.fetch_info as Record<string, unknown>)[other.hash];
    expectRefused(
      () => planDownload(parseReconstructionV1(reply), { length: v1Length, exact: true }),
      /terms\[1\].*names a xorb with no fetch entries/,
    );
  });

  it("refuses a total length other than the file's", () => {
    const parsed = parseReconstructionV1(v1());
    expectRefused(
      () => planDownload(parsed, { length: v1Length + 1, exact: true }),
      new RegExp(`add up to ${v1Length} bytes, but ${v1Length + 1} were expected`),
    );
    expectRefused(() => planDownload(parsed, { length: v1Length - 1, exact: true }), /add up to/);
  });

  it("refuses an offset past the first term, and terms for an empty file", () => {
    const reply = { ...v1(), offset_into_first_range: size(0, 2) };
    expectRefused(
      () => planDownload(parseReconstructionV1(reply), { length: v1Length - size(0, 2), exact: true }),
      /offset_into_first_range \d+ is not inside the first term/,
    );
    expectRefused(() => planDownload(parseReconstructionV1(v1()), { length: 0, exact: true }), /add up to/);
    expect(
      planDownload(parseReconstructionV1({ terms: [], fetch_info: {} }), { length: 0, exact: true }).fetches,
    ).toEqual([]);
  });

  it("for a byte range, accepts a last term that runs past the end but not one wholly past it", () => {
    const parsed = parseReconstructionV1(v1());
    expect(planDownload(parsed, { length: v1Length - 5, exact: false }).length).toBe(v1Length - 5);
    expectRefused(
      () => planDownload(parsed, { length: v1Length - size(0, 2), exact: false }),
      /last term lies wholly past/,
    );
  });
});
