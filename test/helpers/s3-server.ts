import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";

/**
 * A real S3 server for tests: s3rver (npm), run as a child process on 127.0.0.1 with
 * an ephemeral port, plus a recording proxy in front of it for server-side faults.
 *
 * Why a child process and not in-process: s3rver makes its ListObjectsV2 continuation
 * tokens with the DES cipher, which OpenSSL 3 (Node >= 17) only has in its legacy
 * provider. Without `--openssl-legacy-provider` every truncated listing is a 500, so
 * paginated listings could not be tested; that flag can only be given at process start.
 *
 * s3rver facts relied on (s3rver 3.7.1, lib/controllers, lib/middleware): path-style
 * addressing for IP hosts; Range GETs answer 206 with Content-Range; the ETag is the
 * MD5 kept in `<key>._S3rver_object.md5` beside the stored bytes (so corrupting the
 * stored bytes keeps the old ETag: a server that serves bytes its ETag does not
 * vouch for); requests without Authorization are served (anonymous); SigV4 signatures
 * are not checked (access key must be S3RVER when one is sent).
 */
// The SDK's "node >= 22 will be required" notice would otherwise land in every test log.
process.env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"] ??= "true";

const s3rverBin = fileURLToPath(new URL("../../node_modules/s3rver/bin/s3rver.js", import.meta.url));

export const s3rverAvailable = existsSync(s3rverBin);

/** s3rver's one account. */
export const S3RVER_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

/** An environment for fetcher runs in which no AWS configuration of the machine running the tests leaks in. */
export const cleanAwsEnv: NodeJS.ProcessEnv = {
  AWS_ACCESS_KEY_ID: "",
  AWS_SECRET_ACCESS_KEY: "",
  AWS_SESSION_TOKEN: "",
  AWS_PROFILE: "",
  AWS_REGION: "",
  AWS_DEFAULT_REGION: "",
  AWS_ENDPOINT_URL: "",
  AWS_ENDPOINT_URL_S3: "",
  AWS_CONFIG_FILE: "/nonexistent/aws-config",
  AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/aws-credentials",
};

export interface S3TestServer {
  /** s3rver itself. */
  readonly directUrl: string;
  /** The proxy in front of it: use this as the endpoint under test. */
  readonly url: string;
  readonly directory: string;
  /** Every request the proxy forwarded. */
  readonly requests: RecordedS3Request[];
  /** Faults and rewrites, changed by tests as they go. */
  readonly faults: S3Faults;
  /** A client for seeding fixtures (Buffer bodies and WHEN_REQUIRED checksums: no aws-chunked framing). */
  readonly client: S3Client;
  createBucket(bucket: string): Promise<void>;
  put(bucket: string, key: string, body: Buffer | string): Promise<{ md5: string; sha256: string; size: number }>;
  /** Flips one byte of an object's stored bytes (size unchanged, ETag unchanged). */
  corruptStoredObject(bucket: string, key: string, offset?: number): Promise<void>;
  close(): Promise<void>;
}

export interface RecordedS3Request {
  readonly method: string;
  /** Path and query as sent. */
  readonly url: string;
  readonly range: string | undefined;
  readonly ifMatch: string | undefined;
  readonly authorization: string | undefined;
}

/**
 * Server behaviour the proxy adds, because s3rver lacks it:
 * - If-Match: S3 answers 412 PreconditionFailed when the object's ETag differs;
 *   s3rver ignores the header. The proxy compares it with the ETag of s3rver's answer.
 */
export interface S3Faults {
  /** Rewrites the XML body of ListObjectsV2 answers (e.g. to add a hostile key). */
  rewriteListing?: ((xml: string) => string) | undefined;
  /** Makes every ListObjectsV2 page at most this long, whatever the client asked: forces pagination. */
  maxKeys?: number | undefined;
  /** Answers with `Connection: close` and closes after every response, as many S3-compatible stores and proxies do. */
  closeConnections?: boolean | undefined;
}

export async function startS3Server(): Promise<S3TestServer> {
  const directory = await mkdtemp(join(tmpdir(), "nmr-s3rver-"));
  const child = spawn(
    process.execPath,
    ["--openssl-legacy-provider", s3rverBin, "-d", directory, "-a", "127.0.0.1", "-p", "0", "-s", "--no-vhost-buckets"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const port = await listeningPort(child);
  const directUrl = `http://127.0.0.1:${port}`;
  const requests: RecordedS3Request[] = [];
  const faults: S3Faults = {};
  const proxy = await startProxy(port, requests, faults);
  const client = new S3Client({
    region: "us-east-1",
    endpoint: directUrl,
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  const storedObject = (bucket: string, key: string) => join(directory, bucket, `${key}._S3rver_object`);

  return {
    directUrl,
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    directory,
    requests,
    faults,
    client,
    async createBucket(bucket) {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
    },
    async put(bucket, key, body) {
      const bytes = Buffer.from(body);
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
      return {
        md5: createHash("md5").update(bytes).digest("hex"),
        sha256: createHash("sha256").update(bytes).digest("hex"),
        size: bytes.length,
      };
    },
    async corruptStoredObject(bucket, key, offset = 0) {
      const file = await open(storedObject(bucket, key), "r+");
      try {
        const byte = Buffer.alloc(1);
        await file.read(byte, 0, 1, offset);
        byte[0] = byte[0]! ^ 0xff;
        await file.write(byte, 0, 1, offset);
      } finally {
        await file.close();
      }
    },
    async close() {
      client.destroy();
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      child.kill();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

function listeningPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => reject(new Error(`s3rver did not start: ${output}`)), 15_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on [^:]+:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited (${code}): ${output}`));
    });
  });
}

/** Forwards everything to s3rver, recording requests and applying the current faults. */
async function startProxy(port: number, requests: RecordedS3Request[], faults: S3Faults): Promise<Server> {
  const server = createServer((incoming, outgoing) => {
    if (faults.closeConnections) outgoing.shouldKeepAlive = false;
    requests.push({
      method: incoming.method ?? "GET",
      url: incoming.url ?? "/",
      range: header(incoming, "range"),
      ifMatch: header(incoming, "if-match"),
      authorization: header(incoming, "authorization"),
    });
    const isListing = incoming.method === "GET" && /[?&]list-type=2(&|$)/.test(incoming.url ?? "");
    let path = incoming.url ?? "/";
    if (isListing && faults.maxKeys !== undefined) {
      const url = new URL(path, "http://proxy");
      url.searchParams.set("max-keys", String(faults.maxKeys));
      path = `${url.pathname}${url.search}`;
    }
    const upstream = httpRequest(
      { host: "127.0.0.1", port, method: incoming.method, path, headers: incoming.headers },
      (answer) => {
        const ifMatch = header(incoming, "if-match");
        if (
          ifMatch !== undefined &&
          answer.statusCode !== undefined &&
          answer.statusCode < 300 &&
          answer.headers["etag"] !== ifMatch
        ) {
          answer.resume();
          outgoing.writeHead(412, { "content-type": "application/xml" });
          outgoing.end(
            '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>',
          );
          return;
        }
        const rewrite = faults.rewriteListing;
        // Hop-by-hop headers are the proxy's own: s3rver's `Connection: keep-alive` would undo closeConnections.
        const { connection: _connection, "keep-alive": _keepAlive, ...answerHeaders } = answer.headers;
        if (!isListing || rewrite === undefined || answer.statusCode !== 200) {
          outgoing.writeHead(answer.statusCode ?? 502, answerHeaders);
          answer.pipe(outgoing);
          return;
        }
        const chunks: Buffer[] = [];
        answer.on("data", (chunk: Buffer) => chunks.push(chunk));
        answer.on("end", () => {
          const body = Buffer.from(rewrite(Buffer.concat(chunks).toString("utf8")));
          const headers = { ...answerHeaders, "content-length": String(body.length) };
          outgoing.writeHead(200, headers);
          outgoing.end(body);
        });
      },
    );
    upstream.on("error", () => outgoing.destroy());
    incoming.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

function header(message: IncomingMessage, name: string): string | undefined {
  const value = message.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}
