/**
 * Every class of failure, end to end: the bundled CLI fetches from a real server on
 * loopback that fails on purpose (test/helpers/fault-server.ts), and what reaches the
 * user is checked line by line against the one format (src/errors/render.ts): what
 * failed; source, repo or file; the error; numbered steps to fix it. No secret may
 * appear in any of it.
 */
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { canMountTmpfs, cliPath, fetchCommand, runCli, type CliResult } from "../helpers/cli.js";
import { generatedSha256 } from "../helpers/fault-server.js";
import { FAKE_COMMIT, fakeHub, treeFile } from "../helpers/fake-hub.js";
import { gitBlobSha1, useFaultBed } from "../helpers/transfer-fixtures.js";

const TOKEN = `tok_${randomBytes(12).toString("hex")}`;
const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

/** The rendered error at the end of stderr, taken apart by the shape of its lines. */
interface Rendered {
  readonly what: string;
  /** "Source" → "url", in order. */
  readonly fields: readonly (readonly [string, string])[];
  readonly error: string;
  readonly fixes: readonly string[];
  readonly help: string | undefined;
}

function rendered(stderr: string): Rendered {
  const lines = stderr.split("\n");
  const start = lines.findLastIndex((line) => line.startsWith("error: "));
  expect(start, stderr).toBeGreaterThanOrEqual(0);
  const body = lines.slice(start + 1).filter((line) => line !== "");
  // Every line of the box is indented and drawn: ┌─ first field, │ the rule, ✗ the error, └─ the end.
  for (const line of body) expect(line, stderr).toMatch(/^ {2}(┌─ |│|✗ Error: |└─ )/);
  const fields = body
    .filter((line) => /^ {2}(┌─|│ ) [A-Z][A-Za-z ]*: /.test(line))
    .map((line) => {
      const [, name, value] = /^ {2}(?:┌─|│ ) ([A-Z][A-Za-z ]*): +(.*)$/.exec(line)!;
      return [name!, value!] as const;
    });
  const error = body.find((line) => line.startsWith("  ✗ Error: "));
  const fixes = body
    .filter((line) => /^ {2}│ {3}\d+\. /.test(line))
    .map((line) => line.replace(/^ {2}│ {3}\d+\. /, ""));
  const numbers = body.flatMap((line) => /^ {2}│ {3}(\d+)\. /.exec(line)?.[1] ?? []).map(Number);
  expect(numbers, stderr).toEqual(numbers.map((_, index) => index + 1));
  if (fixes.length > 0) expect(body, stderr).toContain("  │ To fix this:");
  return {
    what: lines[start]!.slice("error: ".length),
    fields,
    error: error?.slice("  ✗ Error: ".length) ?? "",
    fixes,
    help: body.find((line) => line.startsWith("  └─ For more help: "))?.slice("  └─ For more help: ".length),
  };
}

const bed = useFaultBed();
/** A port nothing listens on: connections to it are refused. */
let closedPort: number;

beforeAll(async () => {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  closedPort = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
});

let runs = 0;

/** `nix-model-repo fetch` of a spec, retrying fast. */
async function fetchSpec(
  source: Record<string, unknown>,
  options: { auth?: Record<string, unknown>; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult & { readonly out: string }> {
  const { args, out } = await fetchCommand(join(bed.dir.path, `run-${++runs}`), {
    name: "errors",
    source,
    network: { retry: { maxAttempts: 3, baseDelay: 0 } },
    ...(options.auth ? { auth: options.auth } : {}),
  });
  const result = await runCli(args, { env: options.env });
  return { ...result, out };
}

function urlSource(path: string, content: Buffer | string, sha?: string) {
  return {
    type: "url",
    urls: [{ url: bed.server.url(path), sha256: sha ?? sha256(content), filename: "model.bin" }],
    unpack: false,
  };
}

describe("what a failed fetch prints", () => {
  it("a connection that fails after retries: the source, the error with the attempts, what to check", async () => {
    const result = await fetchSpec({
      type: "huggingface",
      repo: "acme/tiny",
      revision: "main",
      endpoint: `http://127.0.0.1:${closedPort}`,
    });
    expect(result.code).toBe(1);
    const error = rendered(result.stderr);
    expect(error.what).toBe("Failed to fetch acme/tiny @ main");
    expect(error.fields.slice(0, 3)).toEqual([
      ["Source", "huggingface"],
      ["Repo", "acme/tiny"],
      ["Revision", "main"],
    ]);
    expect(error.error).toMatch(/ECONNREFUSED.*gave up after 3 attempts/);
    expect(error.fixes[0]).toContain("Check the network connection and proxy settings");
    expect(error.fixes[1]).toContain("network.retry.maxAttempts");
    expect(existsSync(result.out)).toBe(false);
  });

  it("a download cut again and again: the file, the error, what to check", async () => {
    const content = randomBytes(64 * 1024);
    bed.server.serveBytes("/cut/model.bin", content, { dropAfterBytes: 1000, dropTimes: 1000 });
    const result = await fetchSpec(urlSource("/cut/model.bin", content));
    const error = rendered(result.stderr);
    expect(error.what).toBe("Failed to download model.bin");
    expect(error.fields).toContainEqual(["Source", "url"]);
    expect(error.fields).toContainEqual(["File", "model.bin"]);
    expect(error.error).toContain("gave up after");
    expect(error.fixes[0]).toContain("Check the network connection");
  });

  it("a refusal (401/403): the file, the status, the token's way in; the token never printed", async () => {
    const content = Buffer.from("weights");
    bed.server.serveBytes("/private/model.bin", content, {
      statuses: [{ status: 403, body: `{"error":"token ${TOKEN} may not read this"}` }],
    });
    const result = await fetchSpec(urlSource("/private/model.bin", content), {
      auth: { tokenEnvVar: "CLI_ERRORS_TOKEN", tokenFile: null },
      env: { CLI_ERRORS_TOKEN: TOKEN },
    });
    const error = rendered(result.stderr);
    expect(error.what).toBe("Failed to download model.bin");
    expect(error.error).toMatch(/^HTTP 403 Forbidden from /);
    expect(error.fixes[0]).toContain("Check that the token is given to the fetcher");
    expect(error.help).toBe("docs/authentication.md");
    expect(result.stderr).not.toContain(TOKEN);
    expect(bed.server.requestsFor("/private/model.bin").length).toBe(1);
  });

  it("a missing file (404): the file, the status, what to check; not retried", async () => {
    const result = await fetchSpec(urlSource("/nowhere/model.bin", "x"));
    const error = rendered(result.stderr);
    expect(error.what).toBe("Failed to download model.bin");
    expect(error.error).toMatch(/^HTTP 404 Not Found from /);
    expect(error.fixes).toEqual(["Check that the file still exists at this revision/version."]);
    expect(bed.server.requestsFor("/nowhere/model.bin").length).toBe(1);
  });

  it("a rate limit that does not end: the status after the retries, when to try again", async () => {
    const content = Buffer.from("weights");
    const limited = { status: 429, headers: { "retry-after": "0" } };
    bed.server.serveBytes("/limited/model.bin", content, { statuses: [limited, limited, limited, limited] });
    const result = await fetchSpec(urlSource("/limited/model.bin", content));
    const error = rendered(result.stderr);
    expect(error.error).toMatch(/^HTTP 429 Too Many Requests from .*gave up after 3 attempts/);
    expect(error.fixes[0]).toContain("rate limiting");
    expect(bed.server.requestsFor("/limited/model.bin").length).toBe(3);
  });

  it("a server error that does not end: the status after the retries, the server's trouble", async () => {
    const content = Buffer.from("weights");
    const unavailable = { status: 503, body: "maintenance" };
    bed.server.serveBytes("/down/model.bin", content, { statuses: [unavailable, unavailable, unavailable] });
    const result = await fetchSpec(urlSource("/down/model.bin", content));
    const error = rendered(result.stderr);
    expect(error.error).toMatch(/^HTTP 503 Service Unavailable from .*\(maintenance\).*gave up after 3 attempts/);
    expect(error.fixes[0]).toBe("The server is having trouble: try again later.");
  });

  it("bytes that do not match their pin: the file, both digests, the ways out", async () => {
    const content = randomBytes(10_000);
    bed.server.serveBytes("/changed/model.bin", content, { corruptAt: 5 });
    const result = await fetchSpec(urlSource("/changed/model.bin", content));
    const error = rendered(result.stderr);
    expect(error.what).toBe("model.bin does not match the sha256 it is pinned to");
    expect(error.fields).toContainEqual(["File", "model.bin"]);
    expect(error.error).toContain(`sha256: expected ${sha256(content)}, got `);
    expect(error.error).toContain("(downloaded 2 times)");
    expect(error.fixes.length).toBe(3);
    expect(error.fixes[1]).toContain("nix-model-repo prefetch url:");
  });

  it("a spec the fetcher cannot read: the field, what it must be, where to read", async () => {
    const result = await fetchSpec({ type: "url", urls: [{ url: bed.server.url("/x.bin"), sha256: "abc" }] });
    expect(result.code).toBe(1);
    const error = rendered(result.stderr);
    expect(error.what).toMatch(/^Invalid fetch spec: spec\.source\.urls\[0\]\.sha256 must be a sha256 .*, got "abc"$/);
    expect(error.fixes[0]).toContain("Correct the fetchModel option");
    expect(error.help).toBe("docs/spec.md");
  });
});

/** Runs the CLI in a private mount namespace with a 256 KiB tmpfs at `disk`; "$DISK" in `args` is that path. */
function onSmallDisk(disk: string, args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  const script = 'mount -t tmpfs -o size=256k tmpfs "$1" && shift && exec "$@"';
  const command = [process.execPath, cliPath, ...args.map((arg) => arg.replaceAll("$DISK", disk))];
  return new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) => {
    execFile(
      "unshare",
      ["-rm", "sh", "-c", script, "sh", disk, ...command],
      { env: { ...process.env, NIX_MODEL_REPO_PROGRESS: "plain", ...env } },
      (error, stdout, stderr) => resolve({ code: error ? (error.code as number) : 0, stderr, stdout }),
    );
  });
}

/** A 256 KiB tmpfs in a private mount namespace: a real ENOSPC without touching the machine. */
describe.skipIf(!canMountTmpfs())("a full disk (needs unshare and user namespaces)", () => {
  it("refuses before downloading when the listed sizes do not fit: both numbers, and what to do", async () => {
    const content = Buffer.alloc(1024 * 1024, 0x33);
    fakeHub(bed.server, {
      repo: "acme/roomy",
      page: (page) =>
        page === 0
          ? [treeFile("model.bin", content.length, gitBlobSha1(Buffer.from("p")), sha256(content))]
          : undefined,
      files: { "model.bin": content },
    });
    const disk = join(bed.dir.path, "small-disk-precheck");
    await mkdir(disk);
    const dir = join(bed.dir.path, "precheck-run");
    await mkdir(dir);
    const spec = join(dir, "spec.json");
    const source = { type: "huggingface", repo: "acme/roomy", revision: "main", endpoint: bed.server.origin() };
    await writeFile(spec, JSON.stringify({ specVersion: 1, name: "errors", source }));
    const result = await onSmallDisk(disk, ["fetch", "--spec", spec, "--out", "$DISK/out"]);
    expect(result.code).toBe(1);
    const error = rendered(result.stderr);
    expect(error.what).toBe("Not enough space to download acme/roomy @ main");
    expect(error.fields).toContainEqual(["Needed", "1.0 MiB"]);
    expect(error.fields.find(([name]) => name === "Available")?.[1]).toMatch(/^\d+(\.\d)? KiB$/);
    expect(error.error).toMatch(/^the files need 1\.0 MiB \(1048576 bytes\) and .* \(\d+ bytes\) are free there$/);
    expect(error.fixes[0]).toMatch(
      /^Free at least 768\.0 KiB on the file system that holds .*\/small-disk-precheck\/out\.$/,
    );
    expect(result.stderr).not.toContain("ENOSPC");
    expect(bed.server.log.filter((record) => record.path.includes("/acme/roomy/resolve/"))).toEqual([]);
  });

  it("says where prefetch works when $TMPDIR is too small", async () => {
    const content = Buffer.alloc(1024 * 1024, 0x34);
    fakeHub(bed.server, {
      repo: "acme/prefetched",
      page: (page) =>
        page === 0
          ? [treeFile("model.bin", content.length, gitBlobSha1(Buffer.from("q")), sha256(content))]
          : undefined,
      files: { "model.bin": content },
    });
    const disk = join(bed.dir.path, "small-tmpdir");
    await mkdir(disk);
    const result = await onSmallDisk(disk, ["prefetch", "hf:acme/prefetched", "--endpoint", bed.server.origin()], {
      TMPDIR: disk,
    });
    expect(result.code).toBe(1);
    const error = rendered(result.stderr);
    expect(error.what).toBe("Not enough space to download acme/prefetched @ main");
    expect(error.fixes[1]).toContain("point TMPDIR at a file system with room");
  });

  it("names the file being written and says to free space", async () => {
    const size = 1024 * 1024;
    bed.server.serveGenerated("/big/model.bin", size, 7);
    const disk = join(bed.dir.path, "small-disk");
    await mkdir(disk);
    const dir = join(bed.dir.path, "disk-run");
    await mkdir(dir);
    const spec = join(dir, "spec.json");
    const source = {
      type: "url",
      urls: [{ url: bed.server.url("/big/model.bin"), sha256: generatedSha256(7, size), filename: "model.bin" }],
      unpack: false,
    };
    await writeFile(spec, JSON.stringify({ specVersion: 1, name: "errors", source }));
    const script = `mount -t tmpfs -o size=256k tmpfs "$1" && exec "$2" "$3" fetch --spec "$4" --out "$1/out"`;
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        "unshare",
        ["-rm", "sh", "-c", script, "sh", disk, process.execPath, cliPath, spec],
        { env: { ...process.env, NIX_MODEL_REPO_PROGRESS: "plain" } },
        (error, _stdout, stderr) => resolve({ code: error ? (error.code as number) : 0, stderr }),
      );
    });
    expect(result.code).toBe(1);
    const error = rendered(result.stderr);
    expect(error.what).toBe("Failed to write model.bin");
    expect(error.fields).toContainEqual(["File", "model.bin"]);
    expect(error.error).toContain("ENOSPC");
    expect(error.fixes).toEqual(["Free space where the output is written (the Nix store, or --out)."]);
  });
});

/** Answers that once ended in a misleading or raw message (issue 14, item 7). */
describe("what a failed fetch prints about an answer it cannot use", () => {
  const hubSource = (repo: string) => ({
    type: "huggingface",
    repo,
    revision: "main",
    endpoint: bed.server.origin(),
  });

  it("an HTML page where JSON belongs: invalid JSON, with the status and Content-Type, and where to look", async () => {
    fakeHub(bed.server, {
      repo: "acme/portal",
      page: () => undefined,
      revision: (response) => {
        response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        response.end("<!DOCTYPE html><html><body>Please sign in to the network</body></html>");
      },
    });
    const result = await fetchSpec(hubSource("acme/portal"));
    expect(result.code).toBe(1);
    const error = rendered(result.stderr);
    expect(error.what).toBe("Failed to fetch acme/portal @ main");
    expect(error.error).toMatch(
      /^invalid JSON from http:.*\/revision\/main \(HTTP 200, Content-Type text\/html; charset=utf-8\): expected a value, found '<' at byte 0$/,
    );
    expect(error.fixes[0]).toContain("web page (HTML) where its API answers JSON: check the endpoint");
  });

  it("an answer longer than an API call may be: said in words, with what to do", async () => {
    fakeHub(bed.server, {
      repo: "acme/endless",
      page: () => undefined,
      revision: (response) => {
        response.writeHead(200, { "content-type": "application/json" });
        // Only `sha` is kept of this answer: the rest is read and checked, never built.
        response.end(`{"sha": "${"a".repeat(40)}", "siblings": [${"0,".repeat(17 * 1024 * 1024)}0]}`);
      },
    });
    const error = rendered((await fetchSpec(hubSource("acme/endless"))).stderr);
    expect(error.error).toMatch(/is longer than 32 MiB, the most the fetcher reads from one API call$/);
    expect(error.error).not.toContain("33554432");
    expect(error.fixes.length).toBeGreaterThan(0);
  });

  it("a path too long for the system: refused before anything is downloaded, not ENAMETOOLONG afterwards", async () => {
    const content = Buffer.from("deep");
    // 17 segments of 250 bytes: each one allowed, together longer than PATH_MAX.
    const deep = Array.from({ length: 17 }, (_, index) => `${index}`.padEnd(250, "d")).join("/");
    fakeHub(bed.server, {
      repo: "acme/deep",
      page: (page) => (page === 0 ? [treeFile(deep, content.length, gitBlobSha1(content))] : undefined),
      files: { [deep]: content },
    });
    const result = await fetchSpec(hubSource("acme/deep"));
    const error = rendered(result.stderr);
    expect(error.what).toMatch(
      /^Refusing "0d+\/1d+\/.*": its place in the output would take a path of \d+ bytes, more than the 4095 the system allows$/,
    );
    expect(error.fixes[0]).toContain("`files` patterns");
    expect(result.stderr).not.toContain("ENAMETOOLONG");
    expect(bed.server.log.filter((record) => record.path.includes(`/resolve/${FAKE_COMMIT}/`))).toEqual([]);
  });
});
