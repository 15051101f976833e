/**
 * The git-lfs source's parts: pointer parsing (git-lfs docs/spec.md), lfsFiles patterns
 * (git lfs --include), endpoint discovery, credentials, and the Batch API client against
 * a real HTTP server on loopback whose answers are made wrong on purpose.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IncomingMessage, ServerResponse } from "node:http";
import { readPointer } from "../../src/sources/git-lfs/pointer.js";
import { compileLfsFilePatterns } from "../../src/sources/git-lfs/patterns.js";
import { defaultLfsEndpoint, checkLfsEndpoint } from "../../src/sources/git-lfs/endpoint.js";
import { basic, findGitCredentials } from "../../src/sources/git-lfs/credentials.js";
import { explainBatchFailure, requestDownloads } from "../../src/sources/git-lfs/batch.js";
import { explainFailure } from "../../src/errors/explain.js";
import { parseGitLfsSource } from "../../src/sources/git-lfs/spec.js";
import { gitLfsPrefetch } from "../../src/sources/git-lfs/prefetch-target.js";
import { FieldReader } from "../../src/spec/fields.js";
import { defaultHttpSettings } from "../../src/http/settings.js";
import { redact } from "../../src/util/secrets.js";
import { useFaultBed } from "../helpers/transfer-fixtures.js";

const OID = "4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393";
const pointer = (lines: string) => Buffer.from(lines);

describe("LFS pointer files", () => {
  it("reads the canonical form and the older version URLs", () => {
    expect(readPointer(pointer(`version https://git-lfs.github.com/spec/v1\noid sha256:${OID}\nsize 12345\n`))).toEqual(
      { kind: "pointer", pointer: { oid: OID, size: 12345 } },
    );
    expect(readPointer(pointer(`version https://hawser.github.com/spec/v1\noid sha256:${OID}\nsize 0\n`)).kind).toBe(
      "pointer",
    );
  });

  it("leaves ordinary files alone", () => {
    for (const text of [
      "",
      "{}",
      "version 2\n",
      `# version https://git-lfs.github.com/spec/v1\noid sha256:${OID}\nsize 1\n`,
    ]) {
      expect(readPointer(pointer(text)).kind, text).toBe("not-a-pointer");
    }
    expect(readPointer(Buffer.alloc(2000, 0x61)).kind).toBe("not-a-pointer");
  });

  const broken: [string, string, RegExp][] = [
    [
      "an oid that is a path",
      `oid sha256:../../../etc/passwd\nsize 1\n`,
      /oid "sha256:\.\.\/\.\.\/\.\.\/etc\/passwd" is not/,
    ],
    ["upper-case hex", `oid sha256:${OID.toUpperCase()}\nsize 1\n`, /is not "sha256:" and 64 lowercase hex/],
    ["another hash", `oid sha1:${OID.slice(0, 40)}\nsize 1\n`, /is not "sha256:"/],
    ["a negative size", `oid sha256:${OID}\nsize -1\n`, /size "-1" is not a whole number/],
    ["a size with a leading zero", `oid sha256:${OID}\nsize 012\n`, /is not a whole number/],
    ["unsorted keys", `size 1\noid sha256:${OID}\n`, /keys are not sorted/],
    ["an extension", `ext-0-foo sha256:${OID}\noid sha256:${OID}\nsize 1\n`, /extension/],
    ["no trailing newline", `oid sha256:${OID}\nsize 1`, /does not end with a newline/],
    ["no size", `oid sha256:${OID}\n`, /lacks an oid or size/],
  ];
  for (const [label, rest, why] of broken) {
    it(`calls a pointer with ${label} broken`, () => {
      const reading = readPointer(pointer(`version https://git-lfs.github.com/spec/v1\n${rest}`));
      expect(reading.kind).toBe("invalid");
      expect(reading.kind === "invalid" && reading.why).toMatch(why);
    });
  }
});

describe("lfsFiles patterns (git lfs pull --include)", () => {
  const paths = [
    "model.safetensors",
    "sub/model.safetensors",
    "onnx/model.onnx",
    "onnx/deep/x.bin",
    "a/onnx/y.bin",
    "weights.bin",
    "checkpoints/step-100/w.bin",
    "checkpoints/step-1000/w.bin",
  ];
  const select = (patterns: string[]) => paths.filter(compileLfsFilePatterns(patterns));

  it("matches names at any depth when the pattern has no slash", () => {
    expect(select(["*.safetensors"])).toEqual(["model.safetensors", "sub/model.safetensors"]);
    expect(select(["onnx"])).toEqual(["onnx/model.onnx", "onnx/deep/x.bin", "a/onnx/y.bin"]);
  });

  it("anchors patterns with a slash at the root, and a folder selects what is under it", () => {
    expect(select(["onnx/*"])).toEqual(["onnx/model.onnx", "onnx/deep/x.bin"]);
    expect(select(["/onnx"])).toEqual(["onnx/model.onnx", "onnx/deep/x.bin"]);
    expect(select(["onnx/"])).toEqual(["onnx/model.onnx", "onnx/deep/x.bin", "a/onnx/y.bin"]);
    expect(select(["checkpoints/step-100"])).toEqual(["checkpoints/step-100/w.bin"]);
    expect(select(["**/w.bin"])).toEqual(["checkpoints/step-100/w.bin", "checkpoints/step-1000/w.bin"]);
    expect(select(["/weights.bin"])).toEqual(["weights.bin"]);
  });

  it("keeps everything without patterns and nothing with an empty list", () => {
    expect(paths.filter(compileLfsFilePatterns(null))).toEqual(paths);
    expect(select([])).toEqual([]);
  });
});

describe("LFS endpoint and the spec", () => {
  it("derives <clone URL>.git/info/lfs without doubling .git", () => {
    expect(defaultLfsEndpoint("https://h.example/org/repo")).toBe("https://h.example/org/repo.git/info/lfs");
    expect(defaultLfsEndpoint("https://h.example/org/repo.git")).toBe("https://h.example/org/repo.git/info/lfs");
    expect(defaultLfsEndpoint("https://h.example/org/repo/")).toBe("https://h.example/org/repo.git/info/lfs");
    expect(() => checkLfsEndpoint("ssh://git@h.example/x", ".lfsconfig lfs.url")).toThrow(/not an http\(s\) URL/);
    expect(() => checkLfsEndpoint("https://u:p@h.example/x", ".lfsconfig lfs.url")).toThrow(/carries credentials/);
  });

  it("wants an http(s) URL and a full commit", () => {
    const parse = (source: Record<string, unknown>) => {
      const reader = FieldReader.root({ type: "git-lfs", ...source }, "spec.source");
      reader.choice("type", ["git-lfs"]);
      return parseGitLfsSource(reader);
    };
    const commit = "a".repeat(40);
    expect(parse({ url: "https://h.example/r.git", rev: commit })).toEqual({
      type: "git-lfs",
      url: "https://h.example/r.git",
      rev: commit,
      lfsFiles: null,
    });
    expect(() => parse({ url: "https://h.example/r.git", rev: "main" })).toThrow(
      /spec.source.rev must be a full commit id/,
    );
    expect(() => parse({ url: "https://h.example/r.git", rev: "A".repeat(40) })).toThrow(/40 lowercase hex/);
    expect(() => parse({ url: "git@h.example:r.git", rev: commit })).toThrow(
      /spec.source.url must be an absolute URL like https:\/\/github.com\/org\/model.git/,
    );
    expect(() => parse({ url: "file:///srv/r.git", rev: commit })).toThrow(/ssh and other transports/);
    expect(() => parse({ url: "https://t:secret@h.example/r.git", rev: commit })).toThrow(
      /must not contain credentials/,
    );
    expect(() =>
      gitLfsPrefetch.parse("https://h.example/r.git@main", {
        files: undefined,
        endpoint: undefined,
        repoType: undefined,
      }),
    ).toThrow(/full 40-hex commit/);
    expect(
      gitLfsPrefetch.parse(`https://h.example/org/tiny.git@${commit}`, {
        files: ["*.bin"],
        endpoint: undefined,
        repoType: undefined,
      }),
    ).toMatchObject({
      defaultName: "tiny",
      source: { type: "git-lfs", url: "https://h.example/org/tiny.git", rev: commit, lfsFiles: ["*.bin"] },
    });
  });
});

describe("git credentials", () => {
  it("sends a token as HTTP Basic, with a default user or the one given, and redacts it", () => {
    const plain = basic("tok-123456", "$T");
    expect(plain.authorization).toBe(`Basic ${Buffer.from("x-access-token:tok-123456").toString("base64")}`);
    expect(basic("oauth2:tok-123456", "$T").authorization).toBe(
      `Basic ${Buffer.from("oauth2:tok-123456").toString("base64")}`,
    );
    expect(redact(`token tok-123456 header ${plain.authorization}`)).not.toContain("tok-123456");
    expect(redact(plain.authorization)).not.toContain(plain.authorization.slice(6));
  });

  it("reads git's credential store for the clone URL's scheme and host only", async () => {
    const home = await mkdtemp(join(tmpdir(), "nmr-gitcred-"));
    try {
      await writeFile(
        join(home, ".git-credentials"),
        [
          "https://other:nope-9999@elsewhere.example",
          "http://plain:nope-8888@h.example",
          "https://me:stored-7777@h.example",
          "",
        ].join("\n"),
      );
      const env = { HOME: home };
      const noAuth = { tokenEnvVar: null, tokenFile: null };
      const found = await findGitCredentials(noAuth, env, new URL("https://h.example/org/r.git"));
      expect(found?.authorization).toBe(`Basic ${Buffer.from("me:stored-7777").toString("base64")}`);
      expect(found?.origin).toBe(join(home, ".git-credentials"));
      expect(await findGitCredentials(noAuth, env, new URL("https://none.example/r.git"))).toBeNull();
      // auth.tokenEnvVar comes first.
      const fromEnv = await findGitCredentials(
        { tokenEnvVar: "T", tokenFile: null },
        { ...env, T: "env-token-1" },
        new URL("https://h.example/r"),
      );
      expect(fromEnv?.origin).toBe("$T");
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});

describe("the Batch API client against a loopback server", () => {
  const bed = useFaultBed({ settings: { ...defaultHttpSettings, maxAttempts: 1 } });
  let answer: (body: { objects: { oid: string; size: number }[] }) => {
    status?: number;
    body: unknown;
    headers?: Record<string, string>;
  };
  const seen: { accept?: string; contentType?: string; authorization?: string; body: unknown }[] = [];

  beforeAll(() => {
    const handler = async (request: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      seen.push({
        accept: request.headers.accept,
        contentType: request.headers["content-type"],
        authorization: request.headers.authorization,
        body,
      });
      const reply = answer(body);
      response.writeHead(reply.status ?? 200, { "content-type": "application/vnd.git-lfs+json", ...reply.headers });
      response.end(JSON.stringify(reply.body));
    };
    bed.server.route("/repo.git/info/lfs/objects/batch", handler);
    bed.server.route("/moved/objects/batch", handler);
    bed.server.route("/repo.git/info/lfs-307/objects/batch", (_request, response) => {
      response.writeHead(307, { location: bed.server.url("/moved/objects/batch") });
      response.end();
    });
    bed.server.route("/repo.git/info/lfs-302/objects/batch", (_request, response) => {
      response.writeHead(302, { location: bed.server.url("/moved/objects/batch") });
      response.end();
    });
  });

  const object = { oid: OID, size: 5, path: "model.bin" };
  const context = () => ({
    http: bed.http,
    endpoint: new URL(bed.server.url("/repo.git/info/lfs")),
    credential: { authorization: "Basic c2VjcmV0LWJhdGNo", hosts: [new URL(bed.server.url("/")).host] },
    signal: new AbortController().signal,
    repo: "repo",
  });
  const download = (extra: Record<string, unknown> = {}) => ({
    objects: [{ oid: OID, size: 5, actions: { download: { href: bed.server.url("/content"), ...extra } } }],
  });

  it("posts the LFS media types with our credential and reads the action", async () => {
    answer = () => ({
      body: download({
        header: { Authorization: "RemoteAuth server-given-1", "X-Sig": "abc-signature", Cookie: "c=1" },
        expires_in: 60,
      }),
    });
    const before = Date.now();
    const actions = await requestDownloads([object, { ...object, path: "copy.bin" }], context());
    const request = seen.at(-1)!;
    expect(request.accept).toBe("application/vnd.git-lfs+json");
    expect(request.contentType).toBe("application/vnd.git-lfs+json");
    expect(request.authorization).toBe("Basic c2VjcmV0LWJhdGNo");
    // The same object twice is asked for once.
    expect(request.body).toEqual({
      operation: "download",
      transfers: ["basic"],
      objects: [{ oid: OID, size: 5 }],
      hash_algo: "sha256",
    });
    const action = actions.get(OID)!;
    expect(action.href.href).toBe(bed.server.url("/content"));
    // The server's Authorization is for the href's host only; a cookie is dropped.
    expect(action.credential).toEqual({
      authorization: "RemoteAuth server-given-1",
      hosts: [new URL(bed.server.url("/")).host],
    });
    expect(action.headers).toEqual({ "X-Sig": "abc-signature" });
    expect(action.expiresAt).toBeGreaterThanOrEqual(before + 60_000);
    expect(redact("RemoteAuth server-given-1 abc-signature")).toBe("*** ***");
  });

  it("follows a 307 with the body, as the Batch API allows", async () => {
    answer = () => ({ body: download() });
    const actions = await requestDownloads([object], {
      ...context(),
      endpoint: new URL(bed.server.url("/repo.git/info/lfs-307")),
    });
    expect(actions.get(OID)).toBeDefined();
    expect(seen.at(-1)!.body).toMatchObject({ operation: "download" });
  });

  it("does not turn the POST into a GET on a 302", async () => {
    answer = () => ({ body: download() });
    const count = seen.length;
    await expect(
      requestDownloads([object], { ...context(), endpoint: new URL(bed.server.url("/repo.git/info/lfs-302")) }),
    ).rejects.toThrow(/HTTP 302/);
    expect(seen.length).toBe(count);
  });

  const refusals: [string, () => { status?: number; body: unknown; headers?: Record<string, string> }, RegExp][] = [
    [
      "a per-object 404",
      () => ({ body: { objects: [{ oid: OID, size: 5, error: { code: 404, message: "Object does not exist" } }] } }),
      /The LFS server does not have model\.bin/,
    ],
    ["a missing answer", () => ({ body: { objects: [] } }), /no answer for model\.bin/],
    [
      "an answer for another object only",
      () => ({
        body: { objects: [{ oid: "0".repeat(64), size: 5, actions: { download: { href: bed.server.url("/x") } } }] },
      }),
      /no answer for model\.bin/,
    ],
    [
      "a file: href",
      () => ({ body: download({ href: "file:///etc/passwd" }) }),
      /the href for model\.bin is not http\(s\)/,
    ],
    [
      "a header with a newline",
      () => ({ body: download({ header: { "X-A": "a\r\nX-Injected: 1" } }) }),
      /is not a valid header/,
    ],
    [
      // undici refuses such a value (UND_ERR_INVALID_ARG) when it sends the download.
      "a header with a control character",
      () => ({ body: download({ header: { "X-Sig": "a\u0001b" } }) }),
      /action header "X-Sig" is not a valid header/,
    ],
    [
      "a header with a character beyond Latin-1",
      () => ({ body: download({ header: { "X-Sig": "a\u20acb" } }) }),
      /action header "X-Sig" is not a valid header/,
    ],
    [
      "another transfer adapter",
      () => ({ body: { transfer: "tus", ...download() } }),
      /transfer "tus" is not one offered \("basic"\)/,
    ],
    [
      "the xet transfer, not offered by git-lfs",
      () => ({ body: { transfer: "xet", ...download() } }),
      /transfer "xet" is not one offered \("basic"\)/,
    ],
    ["no objects list", () => ({ body: { message: "hi" } }), /no objects list/],
    [
      "a 401 with a challenge",
      () => ({
        status: 401,
        body: { message: "Credentials needed" },
        headers: { "lfs-authenticate": 'Basic realm="x"' },
      }),
      /refused the batch request \(HTTP 401\)/,
    ],
    ["a 404 for the whole API", () => ({ status: 404, body: { message: "Not found" } }), /There is no Git LFS API at/],
  ];
  for (const [label, reply, message] of refusals) {
    it(`fails clearly on ${label}`, async () => {
      answer = reply;
      // As a fetch does: the source's hook words the refusals, the one explain path renders them.
      const asked = requestDownloads([object], context()).catch((error: unknown) => {
        throw explainFailure(error, { hook: (failure) => explainBatchFailure(failure, context()) });
      });
      await expect(asked).rejects.toThrow(message);
    });
  }
});

describe("the environment git runs in", () => {
  it("is built from scratch: no user HOME or config, credentials and proxies only as configuration", async () => {
    const { gitEnvironment } = await import("../../src/sources/git-lfs/git.js");
    const env = gitEnvironment({
      gitDir: "/scratch/repo.git",
      home: "/scratch/home",
      env: {
        PATH: "/bin",
        HOME: "/root",
        GIT_DIR: "/elsewhere",
        GIT_CONFIG_GLOBAL: "/root/.gitconfig",
        GIT_ASKPASS: "/usr/bin/ask",
        https_proxy: "http://env-proxy:1",
        SSL_CERT_FILE: "/etc/ca.pem",
      },
      extraHeaders: [{ urlPrefix: "https://h.example/", header: "Authorization: Basic abc" }],
      network: { proxy: { https: "http://spec-proxy:3128" }, readTimeoutMs: 30_000 },
      describe: "repo",
    });
    expect(env).toMatchObject({
      HOME: "/scratch/home",
      GIT_DIR: "/scratch/repo.git",
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_TERMINAL_PROMPT: "0",
      GIT_ALLOW_PROTOCOL: "http:https",
      GIT_LFS_SKIP_SMUDGE: "1",
      GIT_SSL_CAINFO: "/etc/ca.pem",
      https_proxy: "http://spec-proxy:3128",
    });
    expect(env["GIT_ASKPASS"]).toBeUndefined();
    const config = Object.fromEntries(
      Array.from({ length: Number(env["GIT_CONFIG_COUNT"]) }, (_, index) => [
        env[`GIT_CONFIG_KEY_${index}`],
        env[`GIT_CONFIG_VALUE_${index}`],
      ]),
    );
    expect(config).toMatchObject({
      "http.https://h.example/.extraHeader": "Authorization: Basic abc",
      "credential.helper": "",
      "filter.lfs.smudge": "",
      "http.lowSpeedTime": "30",
    });
  });
});
