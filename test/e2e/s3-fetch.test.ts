/**
 * source.s3 end to end against s3rver on loopback (test/helpers/s3-server.ts): the
 * fetcher CLI as the builder runs it, the adapter's byte source under the transfer
 * engine, and real nix-build of fetchModel expressions (stand-in pkgs).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanAwsEnv, startS3Server, s3rverAvailable, type S3TestServer } from "../helpers/s3-server.js";
import { assertEveryFileFoundOffline } from "../helpers/hf-offline.js";
import {
  libPrelude,
  nixAvailable,
  nixBuild,
  reportedHash,
  hubCacheWith,
  regularFilesUnder,
  FAKE_HASH,
} from "../helpers/nix.js";
import { runCli, type CliResult } from "../helpers/cli.js";
import { openS3 } from "../../src/sources/s3/client.js";
import { s3ByteSource } from "../../src/sources/s3/byte-source.js";
import { createDispatcher } from "../../src/http/dispatcher.js";
import { defaultHttpSettings } from "../../src/http/settings.js";
import { transferAll } from "../../src/transfer/engine.js";

const SECRET = `s3-secret-${randomBytes(12).toString("hex")}`;

const withCredentials: NodeJS.ProcessEnv = {
  ...cleanAwsEnv,
  AWS_ACCESS_KEY_ID: "S3RVER",
  AWS_SECRET_ACCESS_KEY: SECRET,
};

function modelFiles(): Record<string, Buffer | string> {
  return {
    "config.json": JSON.stringify({ model_type: "tiny", run: randomBytes(8).toString("hex") }),
    "tokenizer.json": JSON.stringify({ vocab: { a: 0, b: 1 } }),
    "model.safetensors": randomBytes(2 * 1024 * 1024 + 11),
    "onnx/model.onnx": randomBytes(100_000),
    "nested/deep er/name with spaces+plus.txt": "spaces and a plus",
    "unicodé/ファイル.txt": "unicode names",
  };
}

/** assertEveryFileFoundOffline reads strings as sha256 hex: give it contents as Buffers. */
function asBuffers(files: Record<string, Buffer | string>): Record<string, Buffer> {
  return Object.fromEntries(Object.entries(files).map(([path, content]) => [path, Buffer.from(content)]));
}

async function seed(
  server: S3TestServer,
  bucket: string,
  prefix: string,
  files: Record<string, Buffer | string>,
): Promise<void> {
  for (const [path, content] of Object.entries(files)) await server.put(bucket, `${prefix}${path}`, content);
}

async function fetchWithCli(
  source: Record<string, unknown>,
  env: NodeJS.ProcessEnv = cleanAwsEnv,
): Promise<CliResult & { out: string }> {
  const dir = await mkdtemp(join(tmpdir(), "nmr-s3-cli-"));
  const spec = join(dir, "spec.json");
  await writeFile(spec, JSON.stringify({ specVersion: 1, name: "s3-model", source: { type: "s3", ...source } }));
  const out = join(dir, "out");
  const result = await runCli(["fetch", "--spec", spec, "--out", out], { env });
  return { ...result, out };
}

describe.skipIf(!s3rverAvailable)("source.s3 against s3rver (fetcher CLI; needs the s3rver devDependency)", () => {
  let server: S3TestServer;
  let files: Record<string, Buffer | string>;

  beforeAll(async () => {
    server = await startS3Server();
    await server.createBucket("models");
    files = modelFiles();
    await seed(server, "models", "org/tiny/", files);
    // Neighbours that a string prefix "org/tiny" would catch, and a console folder marker.
    await server.put("models", "org/tiny-2/config.json", "{}");
    await server.put("models", "org/tiny/empty-folder/", "");
  });

  afterAll(async () => {
    await server?.close();
  });

  it("fetches every object under the prefix, across listing pages, into a Hub-cache layout", async () => {
    server.faults.maxKeys = 2;
    const before = server.requests.length;
    try {
      const result = await fetchWithCli({ bucket: "models", prefix: "org/tiny", endpoint: server.url });
      expect(result.stderr).not.toContain("error");
      expect(result.code).toBe(0);
      const meta = JSON.parse(await readFile(join(result.out, ".nix-model-repo-meta.json"), "utf8"));
      expect(meta.source).toEqual({ type: "s3", bucket: "models", prefix: "org/tiny/", files: null });
      expect(meta.files.map((file: { path: string }) => file.path).sort()).toEqual(Object.keys(files).sort());
      await assertEveryFileFoundOffline(await hubCacheWith(result.out, "s3/tiny"), "s3/tiny", asBuffers(files));
      expect(result.stderr).toContain("no AWS credentials found; sending anonymous (unsigned) requests");
    } finally {
      server.faults.maxKeys = undefined;
    }
    const listings = server.requests.slice(before).filter((request) => request.url.includes("list-type=2"));
    expect(listings.length).toBeGreaterThanOrEqual(3); // 6 objects and a marker, 2 per page
    expect(listings.some((request) => request.url.includes("continuation-token="))).toBe(true);
    // Anonymous means unsigned: no Authorization header at all.
    expect(server.requests.slice(before).every((request) => request.authorization === undefined)).toBe(true);
  });

  it("selects files with fnmatch patterns relative to the prefix", async () => {
    const result = await fetchWithCli({
      bucket: "models",
      prefix: "org/tiny/",
      endpoint: server.url,
      files: ["*.json", "nested/*"],
    });
    expect(result.code, result.stderr).toBe(0);
    const meta = JSON.parse(await readFile(join(result.out, ".nix-model-repo-meta.json"), "utf8"));
    expect(meta.files.map((file: { path: string }) => file.path).sort()).toEqual([
      "config.json",
      "nested/deep er/name with spaces+plus.txt",
      "tokenizer.json",
    ]);
  });

  it("signs requests with credentials from the environment and never prints them", async () => {
    const before = server.requests.length;
    const result = await fetchWithCli(
      { bucket: "models", prefix: "org/tiny/", endpoint: server.url, files: ["config.json"] },
      withCredentials,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain("S3: using AWS credentials from the environment");
    expect(result.stderr + result.stdout).not.toContain(SECRET);
    const signed = server.requests.slice(before);
    expect(signed.length).toBeGreaterThan(0);
    expect(signed.every((request) => request.authorization?.startsWith("AWS4-HMAC-SHA256 Credential=S3RVER/"))).toBe(
      true,
    );
  });

  it("refuses half a key pair instead of falling back to anonymous", async () => {
    const result = await fetchWithCli(
      { bucket: "models", prefix: "org/tiny/", endpoint: server.url },
      { ...cleanAwsEnv, AWS_ACCESS_KEY_ID: "S3RVER" },
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
  });

  it("explains a missing bucket with the endpoint and the credentials' origin", async () => {
    const result = await fetchWithCli({ bucket: "no-such-bucket", prefix: "x", endpoint: server.url });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("The bucket no-such-bucket does not exist on this endpoint");
    expect(result.stderr).toContain(`Endpoint:    ${server.url}`);
    expect(result.stderr).toContain("none (anonymous requests)");
    expect(existsSync(result.out)).toBe(false);
  });

  it("says what is there when the patterns select nothing", async () => {
    const result = await fetchWithCli({
      bucket: "models",
      prefix: "org/tiny/",
      endpoint: server.url,
      files: ["*.gguf"],
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("No object under s3://models/org/tiny/ matches the `files` patterns");
    expect(result.stderr).toContain("config.json");
  });

  it("refuses a hostile key in the listing and writes nothing outside the output", async () => {
    const outside = `nmr-s3-escape-${randomBytes(4).toString("hex")}`;
    server.faults.rewriteListing = (xml) =>
      xml.replace(
        "<Contents>",
        `<Contents><Key>org/tiny/../../../../../../tmp/${outside}</Key><Size>2</Size><ETag>"x"</ETag></Contents><Contents>`,
      );
    try {
      const result = await fetchWithCli({ bucket: "models", prefix: "org/tiny/", endpoint: server.url });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(
        "Refusing a file path from the listing of s3://models/org/tiny/: it has a '..' segment",
      );
      expect(existsSync(`/tmp/${outside}`)).toBe(false);
      expect(existsSync(result.out)).toBe(false);
    } finally {
      server.faults.rewriteListing = undefined;
    }
  });

  it("refuses a listing that claims more pages without a continuation token", async () => {
    server.faults.rewriteListing = (xml) =>
      xml.replace("<IsTruncated>false</IsTruncated>", "<IsTruncated>true</IsTruncated>");
    try {
      const result = await fetchWithCli({ bucket: "models", prefix: "org/tiny/", endpoint: server.url });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(
        "the listing of s3://models/org/tiny/ is truncated but gives no continuation token (page 1); the server is broken",
      );
    } finally {
      server.faults.rewriteListing = undefined;
    }
  });

  it("fails a corrupted byte naming the file (the stored bytes no longer match their ETag's MD5)", async () => {
    await server.createBucket("corrupt");
    await server.put("corrupt", "m/config.json", "{}");
    await server.put("corrupt", "m/weights.bin", randomBytes(50_000));
    await server.corruptStoredObject("corrupt", "m/weights.bin", 4096);
    const result = await fetchWithCli({ bucket: "corrupt", prefix: "m", endpoint: server.url });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("Downloaded weights.bin does not match what the source lists for it");
    expect(result.stderr).toMatch(/md5/i);
    expect(existsSync(result.out)).toBe(false);
  });
});

describe.skipIf(!s3rverAvailable)(
  "the S3 byte source under the transfer engine (needs the s3rver devDependency)",
  () => {
    let server: S3TestServer;

    beforeAll(async () => {
      server = await startS3Server();
      await server.createBucket("parts");
    });

    afterAll(async () => {
      await server?.close();
    });

    it("downloads a large object in parallel ranged GETs pinned to its ETag", async () => {
      const content = randomBytes(3 * 1024 * 1024 + 5);
      const { md5, sha256 } = await server.put("parts", "big.bin", content);
      const settings = { ...defaultHttpSettings, concurrency: 4, maxAttempts: 2, baseDelayMs: 10 };
      const dispatcher = createDispatcher(settings, {});
      const previous = { ...process.env };
      Object.assign(process.env, { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: SECRET });
      const dir = await mkdtemp(join(tmpdir(), "nmr-s3-parts-"));
      try {
        const access = await openS3({ region: null, endpoint: server.url, env: process.env, dispatcher });
        const before = server.requests.length;
        const [file] = await transferAll(
          [
            {
              path: "big.bin",
              source: s3ByteSource(access, { bucket: "parts", key: "big.bin", etag: `"${md5}"` }),
              size: content.length,
              expected: { md5 },
              destination: join(dir, "big.bin"),
            },
          ],
          { settings, parallelThresholdBytes: 1024 * 1024, partSizeBytes: 512 * 1024 },
        );
        expect(file!.sha256).toBe(sha256);
        // Buffer.equals: vitest's deep equality walks a 3 MiB buffer byte by byte for seconds.
        expect((await readFile(join(dir, "big.bin"))).equals(content)).toBe(true);
        const gets = server.requests.slice(before).filter((request) => request.method === "GET");
        expect(gets.length).toBe(7);
        expect(gets.every((request) => /^bytes=\d+-\d+$/.test(request.range ?? ""))).toBe(true);
        expect(gets.every((request) => request.ifMatch === `"${md5}"`)).toBe(true);
      } finally {
        process.env = previous;
        await dispatcher.close();
        await rm(dir, { recursive: true, force: true });
      }
    });

    it("fails when the object changed since it was planned (If-Match)", async () => {
      const settings = { ...defaultHttpSettings, maxAttempts: 1 };
      const dispatcher = createDispatcher(settings, {});
      const dir = await mkdtemp(join(tmpdir(), "nmr-s3-changed-"));
      try {
        await server.put("parts", "moving.bin", "version 1");
        const access = await openS3({ region: null, endpoint: server.url, env: process.env, dispatcher });
        await server.put("parts", "moving.bin", "version 2");
        const stale = s3ByteSource(access, {
          bucket: "parts",
          key: "moving.bin",
          etag: '"0123456789abcdef0123456789abcdef"',
        });
        await expect(
          transferAll(
            [{ path: "moving.bin", source: stale, size: 9, expected: {}, destination: join(dir, "moving.bin") }],
            { settings },
          ),
        ).rejects.toThrow(/moving\.bin[\s\S]*412/);
      } finally {
        await dispatcher.close();
        await rm(dir, { recursive: true, force: true });
      }
    });
  },
);

describe.skipIf(!s3rverAvailable || !nixAvailable)(
  "fetchModel with source.s3, built by Nix against s3rver (needs nix-build and s3rver)",
  () => {
    let server: S3TestServer;
    let files: Record<string, Buffer | string>;
    let hash: string | undefined;

    const expression = (fields: string) => `${libPrelude} (nmr.fetchModel { ${fields} }).raw`;
    const source = (extra = "", prefix = "acme/tiny") =>
      `source.s3 = { bucket = "nix"; prefix = "${prefix}"; endpoint = "${server.url}"; ${extra} };`;

    beforeAll(async () => {
      server = await startS3Server();
      await server.createBucket("nix");
      files = modelFiles();
      await seed(server, "nix", "acme/tiny/", files);
    });

    afterAll(async () => {
      await server?.close();
    });

    it("fails a wrong hash, builds with the right one, and every file loads offline", async () => {
      const first = await nixBuild(expression(`name = "s3-tiny"; ${source()} hash = "${FAKE_HASH}";`), {
        env: cleanAwsEnv,
      });
      expect(first.stderr, first.stderr).toContain("hash mismatch in fixed-output derivation");
      hash = reportedHash(first);
      expect(hash).toMatch(/^sha256-/);

      const build = await nixBuild(expression(`name = "s3-tiny"; ${source()} hash = "${hash}";`), { env: cleanAwsEnv });
      expect(build.stderr).not.toContain("error:");
      expect(build.ok).toBe(true);
      await assertEveryFileFoundOffline(await hubCacheWith(build.outPath!, "acme/tiny"), "acme/tiny", asBuffers(files));
      const meta = JSON.parse(await readFile(join(build.outPath!, ".nix-model-repo-meta.json"), "utf8"));
      expect(meta.source).toEqual({ type: "s3", bucket: "nix", prefix: "acme/tiny/", files: null });
      expect(Object.keys(meta.resolved)).toEqual(["commit"]);
      const hashed = await runCli(["hash", build.outPath!]);
      expect(hashed.stdout.trim()).toBe(hash);
    });

    it("gives the same hash when built again (--check), with other concurrency and a region", async () => {
      const result = await nixBuild(
        expression(
          `name = "s3-tiny"; ${source(`region = "eu-west-1";`, "acme/tiny/")} hash = "${hash}"; network.concurrency = 1;`,
        ),
        { env: cleanAwsEnv, check: true },
      );
      expect(result.stderr).not.toContain("error:");
      expect(result.ok).toBe(true);
    });

    it("signs with credentials from the builder's environment that appear nowhere", async () => {
      const before = server.requests.length;
      const first = await nixBuild(expression(`name = "s3-tiny-signed"; ${source()} hash = "${FAKE_HASH}";`), {
        env: withCredentials,
      });
      // The same bytes as the anonymous build: credentials change access, not content.
      expect(reportedHash(first)).toBe(hash);
      const build = await nixBuild(expression(`name = "s3-tiny-signed"; ${source()} hash = "${hash}";`), {
        env: withCredentials,
      });
      expect(build.ok).toBe(true);
      expect(await readFile(build.drvPath!, "utf8")).not.toContain(SECRET);
      expect(first.stderr + first.stdout + build.stderr + build.stdout).not.toContain(SECRET);
      for (const file of await regularFilesUnder(build.outPath!))
        expect((await readFile(file)).includes(SECRET)).toBe(false);
      expect(first.stderr).toContain("S3: using AWS credentials from the environment");
      expect(
        server.requests.slice(before).some((request) => request.authorization?.includes("Credential=S3RVER/")),
      ).toBe(true);
    });

    it("fails the build on a corrupted byte, naming the file", async () => {
      await server.createBucket("nix-corrupt");
      await server.put("nix-corrupt", "m/config.json", "{}");
      await server.put("nix-corrupt", "m/weights.bin", randomBytes(40_000));
      await server.corruptStoredObject("nix-corrupt", "m/weights.bin", 10);
      const result = await nixBuild(
        expression(
          `name = "s3-corrupt"; source.s3 = { bucket = "nix-corrupt"; prefix = "m"; endpoint = "${server.url}"; }; hash = "${FAKE_HASH}";`,
        ),
        { env: cleanAwsEnv },
      );
      expect(result.ok).toBe(false);
      expect(result.stderr).toContain("Downloaded weights.bin does not match what the source lists for it");
      expect(result.stderr).not.toContain("hash mismatch in fixed-output derivation");
    });

    it('fetches a whole bucket with prefix = ""', async () => {
      await server.createBucket("whole");
      await server.put("whole", "config.json", "{}");
      await server.put("whole", "sub/weights.bin", "weights");
      const result = await nixBuild(
        expression(
          `name = "whole"; source.s3 = { bucket = "whole"; prefix = ""; endpoint = "${server.url}"; }; hash = "${FAKE_HASH}";`,
        ),
        { env: cleanAwsEnv },
      );
      expect(result.stderr).toContain("hash mismatch in fixed-output derivation");
      const build = await nixBuild(
        expression(
          `name = "whole"; source.s3 = { bucket = "whole"; prefix = ""; endpoint = "${server.url}"; }; hash = "${reportedHash(result)}";`,
        ),
        { env: cleanAwsEnv },
      );
      expect(build.ok, build.stderr).toBe(true);
      await assertEveryFileFoundOffline(await hubCacheWith(build.outPath!, "acme/whole"), "acme/whole", {
        "config.json": Buffer.from("{}"),
        "sub/weights.bin": Buffer.from("weights"),
      });
      expect(JSON.parse(await readFile(join(build.outPath!, ".nix-model-repo-meta.json"), "utf8")).source.prefix).toBe(
        "",
      );
    });

    it("prefetches s3://, and the build is then a store hit with the server stopped", async () => {
      const own = await startS3Server();
      let prefetched: { hash: string; storePath: string; expression: string };
      const ownFiles = modelFiles();
      try {
        await own.createBucket("pre");
        await seed(own, "pre", "acme/pre/", ownFiles);
        const result = await runCli(
          ["prefetch", "s3://pre/acme/pre", "--endpoint", own.url, "--files", "*.json", "--json"],
          { env: cleanAwsEnv },
        );
        expect(result.code, result.stderr).toBe(0);
        prefetched = JSON.parse(result.stdout);
      } finally {
        await own.close();
      }
      expect(prefetched.expression).toContain(`source.s3 = {`);
      expect(prefetched.expression).toContain(`prefix = "acme/pre/";`);
      const build = await nixBuild(
        expression(
          `name = "pre"; source.s3 = { bucket = "pre"; prefix = "acme/pre"; endpoint = "${own.url}"; files = [ "*.json" ]; }; hash = "${prefetched.hash}";`,
        ),
        { env: cleanAwsEnv },
      );
      expect(build.stderr).not.toContain("error:");
      expect(build.outPath).toBe(prefetched.storePath);
      const kept = Object.fromEntries(Object.entries(asBuffers(ownFiles)).filter(([path]) => path.endsWith(".json")));
      await assertEveryFileFoundOffline(await hubCacheWith(build.outPath!, "acme/pre"), "acme/pre", kept);
    });
  },
);
