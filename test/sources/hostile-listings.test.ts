/**
 * Hostile listings, for every source that lists (issue 14, items 1 and 3): sizes no file has,
 * listings that go on and on, answers that nest without end. The bundled CLI fetches from
 * servers on loopback that speak each source's API (the fault server answering the Hub,
 * S3, MLflow and Ollama registry calls; a real git + Git LFS host), and each run must end
 * with a clear error, or succeed, within a generous memory bound that does not depend on
 * what the server claims (peak RSS of the CLI process, from getrusage).
 *
 * Sizes under the 64 TiB rule (10^12) are judged by the free-space check on an ordinary
 * disk, or, where a disk has room, by the first answer's size: whichever the machine gives,
 * the message must say so.
 */
import { createHash } from "node:crypto";
import { statfsSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fetchCommand } from "../helpers/cli.js";
import { FAKE_COMMIT, fakeHub, treeFile } from "../helpers/fake-hub.js";
import { GitLfsServer, hasGitLfs } from "../helpers/git-lfs-server.js";
import { pushLfsRepo } from "../helpers/git-lfs-repo.js";
import { runCliMeasured, type MeasuredRun } from "../helpers/peak-rss.js";
import { MiB, gitBlobSha1, useFaultBed } from "../helpers/transfer-fixtures.js";

/**
 * Generous, and independent of what a server claims: the CLI with the S3 client loaded,
 * undici, the hash buffer (64 MiB, allocated as used), young garbage. A listing of 300,000
 * entries kept whole cost about 170 bytes each, planning every part of 10^12 bytes 355 MiB.
 */
const BOUND = 200 * MiB;
/**
 * For a fetch that succeeds after a long listing: the CLI alone peaks at about 110 MiB here,
 * and keeping the 300,000 entries of the listing below (as the Hub adapter once did) costs
 * about 80 MiB more; filtered while read, it costs nothing.
 */
const LISTING_BOUND = 150 * MiB;
/** A listing whose entries are all kept (MLflow fetches every artifact) costs up to the cap's worth. */
const KEPT_ENTRY_BYTES = 128;
const REAL = Buffer.alloc(MiB, 0x5a);
const REAL_SHA256 = createHash("sha256").update(REAL).digest("hex");
const REAL_MD5 = createHash("md5").update(REAL).digest("hex");
const S3_ENV = { AWS_ACCESS_KEY_ID: "test-key", AWS_SECRET_ACCESS_KEY: "test-secret", AWS_REGION: "us-east-1" };

const bed = useFaultBed();
let runs = 0;

async function fetchSource(source: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<MeasuredRun> {
  const { args } = await fetchCommand(join(bed.dir.path, `run-${++runs}`), {
    name: "hostile",
    source,
    network: { retry: { maxAttempts: 2, baseDelay: 0 } },
  });
  const result = await runCliMeasured(args, env);
  console.log(
    `${expect.getState().currentTestName}: peak RSS ${(result.peakRss / MiB).toFixed(0)} MiB, exit ${result.code}`,
  );
  return result;
}

/** The rendered error's first line and its "✗ Error:" line. */
function errorOf(result: MeasuredRun): { what: string; error: string } {
  expect(result.code, result.stderr).toBe(1);
  const lines = result.stderr.split("\n");
  const start = lines.findLastIndex((line) => line.startsWith("error: "));
  expect(start, result.stderr).toBeGreaterThanOrEqual(0);
  const error = lines.slice(start).find((line) => line.startsWith("  ✗ Error: ")) ?? "";
  return { what: lines[start]!.slice("error: ".length), error: error.slice("  ✗ Error: ".length) };
}

/** What a listed size of 10^12 for a 1 MiB file must end in, on this machine. */
function expectRefusedSize(result: MeasuredRun, listed: number): void {
  const { what, error } = errorOf(result);
  if (statfsSync(tmpdir()).bavail * statfsSync(tmpdir()).bsize < listed) {
    expect(what).toMatch(/^Not enough space to download /);
    expect(error).toContain(`(${listed} bytes) and `);
  } else {
    expect(error).toContain(`size: expected ${listed} bytes, the server reports ${REAL.length}`);
  }
}

function expectTooLarge(result: MeasuredRun): void {
  expect(errorOf(result).error).toContain("bytes, more than the 70368744177664 bytes (64 TiB) the fetcher accepts");
}

const SIZES = [1e15, 1e12];

describe("a listed size no file has", () => {
  describe.each(SIZES)("%d bytes", (listed) => {
    it("from the Hub's tree listing", async () => {
      const repo = `acme/size-${listed}`;
      fakeHub(bed.server, {
        repo,
        page: (page) =>
          page === 0 ? [treeFile("model.bin", listed, gitBlobSha1(Buffer.from("pointer")), REAL_SHA256)] : undefined,
        files: { "model.bin": REAL },
      });
      const result = await fetchSource({ type: "huggingface", repo, revision: "main", endpoint: bed.server.origin() });
      if (listed > 2 ** 46) expectTooLarge(result);
      else expectRefusedSize(result, listed);
      expect(result.peakRss).toBeLessThan(BOUND);
    });

    it("from an S3 object's HEAD", async () => {
      const bucket = `size-${listed}`;
      // Path-style ListObjectsV2: GET /<bucket>/?list-type=2&prefix=...
      bed.server.route(`/${bucket}/`, (_request, response) => {
        response.writeHead(200, { "content-type": "application/xml" });
        response.end(
          `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${bucket}</Name><Prefix>tiny/</Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated><Contents><Key>tiny/model.bin</Key><Size>${listed}</Size><ETag>"${REAL_MD5}"</ETag></Contents></ListBucketResult>`,
        );
      });
      bed.server.route(`/${bucket}/tiny/model.bin`, (request, response) => {
        if (request.method === "HEAD") {
          response.writeHead(200, { "content-length": String(listed), etag: `"${REAL_MD5}"` });
          return void response.end();
        }
        const range = /^bytes=(\d+)-(\d+)$/.exec(request.headers.range ?? "");
        const [start, end] = range
          ? [Number(range[1]), Math.min(REAL.length - 1, Number(range[2]))]
          : [0, REAL.length - 1];
        response.writeHead(range ? 206 : 200, {
          etag: `"${REAL_MD5}"`,
          ...(range ? { "content-range": `bytes ${start}-${end}/${REAL.length}` } : {}),
        });
        response.end(REAL.subarray(start, end + 1));
      });
      const result = await fetchSource(
        { type: "s3", bucket, prefix: "tiny", endpoint: bed.server.origin(), region: "us-east-1" },
        S3_ENV,
      );
      if (listed > 2 ** 46) expectTooLarge(result);
      else expectRefusedSize(result, listed);
      expect(result.peakRss).toBeLessThan(BOUND);
    });

    it("from an MLflow artifact listing", async () => {
      const name = `size-${listed}`;
      mlflowModel(name, [{ path: "model.bin", is_dir: false, file_size: String(listed) }]);
      bed.server.serveBytes(`/api/2.0/mlflow-artifacts/artifacts/${name}/model.bin`, REAL);
      const result = await fetchSource({
        type: "mlflow",
        trackingUri: bed.server.origin(),
        modelName: name,
        modelVersion: "1",
      });
      if (listed > 2 ** 46) expectTooLarge(result);
      else expectRefusedSize(result, listed);
      expect(result.peakRss).toBeLessThan(BOUND);
    });

    it("from an Ollama manifest's layer", async () => {
      const model = `size${listed}`;
      const manifest = {
        schemaVersion: 2,
        mediaType: "application/vnd.docker.distribution.manifest.v2+json",
        layers: [{ mediaType: "application/vnd.ollama.image.model", digest: `sha256:${REAL_SHA256}`, size: listed }],
      };
      bed.server.route(`/v2/library/${model}/manifests/latest`, (_request, response) => {
        response.writeHead(200, { "content-type": "application/vnd.docker.distribution.manifest.v2+json" });
        response.end(JSON.stringify(manifest));
      });
      bed.server.serveBytes(`/v2/library/${model}/blobs/sha256:${REAL_SHA256}`, REAL);
      const result = await fetchSource({ type: "ollama", model, endpoint: bed.server.origin() });
      if (listed > 2 ** 46) expectTooLarge(result);
      else expectRefusedSize(result, listed);
      expect(result.peakRss).toBeLessThan(BOUND);
    });
  });

  it.skipIf(!hasGitLfs)("from a Git LFS pointer: refused where the pointer is read", async () => {
    const lfs = await GitLfsServer.start();
    try {
      const pointer = `version https://git-lfs.github.com/spec/v1\noid sha256:${REAL_SHA256}\nsize 1000000000000000\n`;
      const pushed = await pushLfsRepo(lfs, "lie", { "model.dat": pointer }, { track: [] });
      const result = await fetchSource({ type: "git-lfs", url: pushed.url, rev: pushed.commit });
      const { what } = errorOf(result);
      expect(what).toContain("model.dat in commit");
      expect(what).toContain(
        "is a broken Git LFS pointer: its size 1000000000000000 is more than the 70368744177664 bytes (64 TiB) the fetcher accepts for one file",
      );
      expect(lfs.log.filter((request) => request.path.includes("/info/lfs/"))).toEqual([]);
      expect(result.peakRss).toBeLessThan(BOUND);
    } finally {
      await lfs.close();
    }
  });
});

/** The registry calls of an MLflow model version whose artifacts are `files` (the tracking server's proxy). */
function mlflowModel(name: string, files: readonly unknown[] | ((response: ServerResponse) => void)): void {
  const json = (body: unknown) => (_request: unknown, response: ServerResponse) => {
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify(body));
  };
  bed.server.route(
    "/api/2.0/mlflow/model-versions/get",
    json({ model_version: { name, version: "1", status: "READY", current_stage: "None" } }),
  );
  bed.server.route(
    "/api/2.0/mlflow/model-versions/get-download-uri",
    json({ artifact_uri: `mlflow-artifacts:/${name}` }),
  );
  bed.server.route("/api/2.0/mlflow-artifacts/artifacts", (_request, response) => {
    if (typeof files === "function") return files(response);
    json({ files })(undefined, response);
  });
}

describe("a listing that goes on and on", () => {
  it("of the Hub, 10 pages of 30,000 entries for one file wanted: filtered while read, memory flat", async () => {
    const config = Buffer.from('{"model_type": "tiny"}');
    const filler = (page: number) =>
      Array.from({ length: 30_000 }, (_, index) =>
        treeFile(`shard-${page}/file-${String(index).padStart(6, "0")}.bin`, 1234, "a".repeat(40)),
      );
    fakeHub(bed.server, {
      repo: "acme/many",
      page: (page) =>
        page === 0
          ? [treeFile("config.json", config.length, gitBlobSha1(config)), ...filler(0)]
          : page < 10
            ? filler(page)
            : undefined,
      files: { "config.json": config },
    });
    const result = await fetchSource({
      type: "huggingface",
      repo: "acme/many",
      revision: "main",
      files: ["config.json"],
      endpoint: bed.server.origin(),
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.peakRss).toBeLessThan(LISTING_BOUND);
  });

  it("of the Hub, past a million entries: refused with the rule, memory flat", async () => {
    const filler = (page: number) =>
      Array.from({ length: 300_000 }, (_, index) => ({
        type: "directory",
        path: `d${page}-${index}`,
        oid: "b".repeat(40),
      }));
    fakeHub(bed.server, { repo: "acme/endless", page: (page) => (page < 4 ? filler(page) : undefined) });
    const result = await fetchSource({
      type: "huggingface",
      repo: "acme/endless",
      revision: "main",
      files: ["config.json"],
      endpoint: bed.server.origin(),
    });
    expect(errorOf(result).what).toBe(
      "Refusing the Hub's tree listing of acme/endless: it goes on past 1000000 entries",
    );
    // Refused while reading the fourth page: nothing after it was asked for.
    expect(bed.server.requestsFor(`/api/models/acme/endless/tree/${FAKE_COMMIT}`).length).toBe(4);
    expect(result.peakRss).toBeLessThan(BOUND);
  });

  it("of an MLflow artifact folder, past a million entries: refused, memory flat", async () => {
    mlflowModel("endless", (response) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.write('{"files": [');
      // Short entries (MLflow's is_dir and file_size may be left out): 17 MiB in all, under the 32 MiB an answer may be.
      for (let index = 0; index <= 1_000_000; index++) response.write(`${index === 0 ? "" : ","}{"path":"f${index}"}`);
      response.end("]}");
    });
    const result = await fetchSource({
      type: "mlflow",
      trackingUri: bed.server.origin(),
      modelName: "endless",
      modelVersion: "1",
    });
    expect(errorOf(result).what).toBe(
      "Refusing the artifact listing of mlflow-artifacts endless: it goes on past 1000000 entries",
    );
    expect(result.peakRss).toBeLessThan(BOUND + 1_000_000 * KEPT_ENTRY_BYTES);
  });
});

describe("an answer that nests without end", () => {
  it("of the Hub: 32 MiB of `[` for the revision, refused at the 65th", async () => {
    fakeHub(bed.server, {
      repo: "acme/brackets",
      page: () => undefined,
      revision: (response) => {
        response.writeHead(200, { "content-type": "application/json" });
        response.end(Buffer.alloc(32 * MiB, "["));
      },
    });
    const result = await fetchSource({
      type: "huggingface",
      repo: "acme/brackets",
      revision: "main",
      endpoint: bed.server.origin(),
    });
    expect(errorOf(result).error).toMatch(/^JSON nested too deeply from .* deeper than 64/);
    expect(result.peakRss).toBeLessThan(BOUND);
  });

  it("of S3: a listing nested 100,000 elements deep, refused before the SDK's recursive parser", async () => {
    bed.server.route("/deep-xml/", (_request, response) => {
      response.writeHead(200, { "content-type": "application/xml" });
      response.end(`<ListBucketResult>${"<a>".repeat(100_000)}${"</a>".repeat(100_000)}</ListBucketResult>`);
    });
    const result = await fetchSource(
      { type: "s3", bucket: "deep-xml", prefix: "tiny", endpoint: bed.server.origin(), region: "us-east-1" },
      S3_ENV,
    );
    expect(errorOf(result).error).toMatch(/^the S3 answer from .* nests elements deeper than 64 levels/);
    expect(result.peakRss).toBeLessThan(BOUND);
  });

  it("of S3: a listing page of 48 MiB, refused at 32 MiB", async () => {
    bed.server.route("/long-xml/", (_request, response) => {
      response.writeHead(200, { "content-type": "application/xml" });
      response.end(`<ListBucketResult><Name>${"n".repeat(48 * MiB)}</Name></ListBucketResult>`);
    });
    const result = await fetchSource(
      { type: "s3", bucket: "long-xml", prefix: "tiny", endpoint: bed.server.origin(), region: "us-east-1" },
      S3_ENV,
    );
    expect(errorOf(result).error).toMatch(/^the S3 answer from .* is longer than 32 MiB/);
    expect(result.peakRss).toBeLessThan(BOUND);
  });

  it("of an Ollama registry: a manifest of `[`, refused as JSON that nests too deep", async () => {
    bed.server.route("/v2/library/brackets/manifests/latest", (_request, response) => {
      response.writeHead(200, { "content-type": "application/vnd.docker.distribution.manifest.v2+json" });
      response.end(Buffer.alloc(8 * MiB, "["));
    });
    const result = await fetchSource({ type: "ollama", model: "brackets", endpoint: bed.server.origin() });
    expect(errorOf(result).what).toMatch(/^Refusing the manifest of .*: it is not valid JSON \(.*deeper than 64/);
    expect(result.peakRss).toBeLessThan(BOUND);
  });
});
