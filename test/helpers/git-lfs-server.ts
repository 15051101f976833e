/**
 * A git + Git LFS host on loopback for the git-lfs tests: the real `git http-backend`
 * (smart HTTP, clone/fetch and push) behind a Node HTTP server, plus an LFS server
 * written for the tests that implements the Batch API (upload and download, basic
 * transfer, verify) and object storage. The real `git push`, `git lfs push` and
 * `git lfs pull` work against it, which is how the tests know it speaks the protocols
 * and not just what our client expects.
 *
 * It listens on 127.0.0.1 and 127.0.0.2 with the same port, so an LFS href on
 * 127.0.0.2 is another host for the client. Faults are injected here, server-side.
 *
 *   /<repo>.git/info/refs, /<repo>.git/git-upload-pack, ...   git http-backend (CGI)
 *   /<repo>.git/info/lfs/objects/batch                         Batch API
 *   /<repo>.git/info/lfs/objects/<oid>                         content (GET, PUT)
 *   /<repo>.git/info/lfs/verify, /locks/verify                 verify, locking (empty)
 *   /lfs-elsewhere/<repo>/...                                  the same LFS API under another path (for lfs.url)
 */
import { spawn, execFileSync } from "node:child_process";
import { createHash, timingSafeEqual } from "node:crypto";
import { createReadStream, createWriteStream, existsSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm, stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { listenOnLoopbackPair, type LoopbackHost, type LoopbackPair } from "./loopback-pair.js";

export type { LoopbackHost };

export interface GitLfsRequest {
  readonly method: string;
  readonly path: string;
  /** Local address the request arrived at. */
  readonly host: LoopbackHost | string;
  readonly authorization: string | undefined;
  status: number;
}

export interface GitLfsFaults {
  /** Serve these objects with one byte flipped (the batch still announces the real oid). */
  readonly corruptObjects?: ReadonlySet<string>;
  /** Download hrefs point at this host (same port) instead of the one the batch arrived at. */
  readonly hrefHost?: LoopbackHost;
  /** Extra action headers the server hands out with download actions. */
  readonly actionHeaders?: Readonly<Record<string, string>>;
  /** Require this header on content GETs (as servers that put an Accept or a signature into the action header). */
  readonly requireContentHeader?: { readonly name: string; readonly value: string };
  /** Download actions say they expire after this many seconds. */
  readonly expiresIn?: number;
  /**
   * Download actions carry a per-object signature header (X-Signature) instead of the
   * caller's Authorization, and content GETs with a valid signature need no credentials:
   * how hosts that put objects on a CDN do it.
   */
  readonly signedHrefs?: boolean;
  /** Answer each batch request with this status and message instead (e.g. 403). */
  readonly batchStatus?: { readonly status: number; readonly message: string };
}

/**
 * The `xet` transfer, as Hugging Face's LFS endpoint answers it (xet-core git_xet/): when a
 * download batch offers "xet", the server picks it, and each action's `href` is the token
 * refresh URL (here `<repo>.git/info/lfs/xet-read-token`, behind the same authentication as
 * the batch) and its headers carry X-Xet-Cas-Url, X-Xet-Access-Token and
 * X-Xet-Token-Expiration, plus X-Xet-Hash, this project's convention for the file id. The Xet
 * storage is `serve`'s (its CAS), for a Hub repo holding the same files: tokens and file
 * hashes are asked of it.
 */
export interface GitLfsXet {
  /** serve's URL: its xet-read-token issues the tokens, its tree listing gives the Xet hashes. */
  readonly hubUrl: string;
  /** The Hub repo (served through Xet) holding the same LFS files. */
  readonly hubRepo: string;
  /** Leave X-Xet-Hash out of the actions (as huggingface.co's Batch replies do). */
  readonly withoutHash?: boolean;
}

export interface GitLfsServerOptions {
  /**
   * When set, every git and LFS request must authenticate with it: HTTP Basic with any
   * user name and this as the password, or `Authorization: Bearer <token>`.
   */
  readonly token?: string;
}

const LFS_JSON = "application/vnd.git-lfs+json";
const OID = /^[0-9a-f]{64}$/;

export class GitLfsServer {
  readonly log: GitLfsRequest[] = [];
  faults: GitLfsFaults = {};
  /** Answer download batches that offer `xet` with the xet transfer (undefined: basic only, as before). */
  xet: GitLfsXet | undefined;
  #listeners: LoopbackPair | undefined;

  private constructor(
    /** Holds git/ (bare repos) and lfs/ (objects). */
    readonly root: string,
    private readonly options: GitLfsServerOptions,
  ) {}

  static async start(options: GitLfsServerOptions = {}): Promise<GitLfsServer> {
    const root = await mkdtemp(join(tmpdir(), "nmr-git-lfs-server-"));
    await mkdir(join(root, "git"), { recursive: true });
    await mkdir(join(root, "lfs"), { recursive: true });
    const server = new GitLfsServer(root, options);
    await server.#listen();
    return server;
  }

  get port(): number {
    return this.#listeners!.port;
  }

  origin(host: LoopbackHost = "127.0.0.1"): string {
    return this.#listeners!.origin(host);
  }

  /** The clone URL of a repo: http://127.0.0.1:<port>/<name>.git */
  repoUrl(name: string, host: LoopbackHost = "127.0.0.1"): string {
    return `${this.origin(host)}/${name}.git`;
  }

  /** Creates an empty bare repo that accepts pushes. */
  createRepo(name: string): void {
    const dir = join(this.root, "git", `${name}.git`);
    execFileSync("git", ["init", "--quiet", "--bare", "--initial-branch=main", dir], { env: gitEnv(this.root) });
    execFileSync("git", ["-C", dir, "config", "http.receivepack", "true"], { env: gitEnv(this.root) });
  }

  /** Where an object of a repo is stored (content-addressed, as lfs-test-server lays it out). */
  objectPath(repo: string, oid: string): string {
    return join(this.root, "lfs", repo, oid.slice(0, 2), oid.slice(2, 4), oid);
  }

  requestsTo(host: LoopbackHost): GitLfsRequest[] {
    return this.log.filter((request) => request.host === host);
  }

  async close(): Promise<void> {
    await this.#listeners?.close();
    await rm(this.root, { recursive: true, force: true });
  }

  async #listen(): Promise<void> {
    this.#listeners = await listenOnLoopbackPair((request, response) => {
      this.#handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) this.#json(response, 500, { message: String(error) });
        else response.destroy();
      });
    });
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "http://placeholder");
    const record: GitLfsRequest = {
      method: request.method ?? "GET",
      path: url.pathname,
      host: (request.socket.localAddress ?? "").replace(/^::ffff:/, ""),
      authorization: request.headers.authorization,
      status: 0,
    };
    this.log.push(record);
    response.on("finish", () => (record.status = response.statusCode));

    const lfs =
      /^\/(?:(.+)\.git\/info\/lfs|lfs-elsewhere\/(.+))\/(objects\/batch|objects\/[^/]+|verify|locks\/verify|locks|xet-read-token)$/.exec(
        url.pathname,
      );
    if (lfs) return this.#lfs(request, response, record, (lfs[1] ?? lfs[2])!, lfs[3]!, url);
    if (!this.#authorized(request)) {
      response.writeHead(401, { "www-authenticate": 'Basic realm="git"', "content-type": "text/plain" });
      return void response.end("authentication required\n");
    }
    return this.#git(request, response, url);
  }

  #authorized(request: IncomingMessage): boolean {
    const token = this.options.token;
    if (token === undefined) return true;
    const header = request.headers.authorization ?? "";
    const bearer = /^Bearer (.+)$/i.exec(header);
    if (bearer) return same(bearer[1]!, token);
    const basic = /^Basic (.+)$/i.exec(header);
    if (!basic) return false;
    const decoded = Buffer.from(basic[1]!, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    return colon > 0 && same(decoded.slice(colon + 1), token);
  }

  /** git's smart HTTP through `git http-backend`, as a web server runs the CGI. */
  #git(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const env: NodeJS.ProcessEnv = {
      ...gitEnv(this.root),
      GIT_PROJECT_ROOT: join(this.root, "git"),
      GIT_HTTP_EXPORT_ALL: "1",
      REQUEST_METHOD: request.method ?? "GET",
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.replace(/^\?/, ""),
      CONTENT_TYPE: request.headers["content-type"] ?? "",
      REMOTE_USER: "tester",
      REMOTE_ADDR: request.socket.remoteAddress ?? "127.0.0.1",
      SERVER_PROTOCOL: "HTTP/1.1",
      // Protocol v2 and gzip-compressed request bodies reach the CGI as HTTP_* variables.
      ...(request.headers["git-protocol"]
        ? {
            GIT_PROTOCOL: String(request.headers["git-protocol"]),
            HTTP_GIT_PROTOCOL: String(request.headers["git-protocol"]),
          }
        : {}),
      ...(request.headers["content-encoding"]
        ? { HTTP_CONTENT_ENCODING: String(request.headers["content-encoding"]) }
        : {}),
      ...(request.headers["content-length"] ? { CONTENT_LENGTH: String(request.headers["content-length"]) } : {}),
    };
    return new Promise((resolve, reject) => {
      const child = spawn("git", ["http-backend"], { env, stdio: ["pipe", "pipe", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      request.pipe(child.stdin);
      child.stdin.on("error", () => undefined);
      let head = Buffer.alloc(0);
      let headersDone = false;
      child.stdout.on("data", (chunk: Buffer) => {
        if (headersDone) return void response.write(chunk);
        head = Buffer.concat([head, chunk]);
        const end = findHeaderEnd(head);
        if (end === undefined) return;
        headersDone = true;
        const { status, headers } = parseCgiHeaders(head.subarray(0, end.at).toString("latin1"));
        response.writeHead(status, headers);
        response.write(head.subarray(end.at + end.length));
      });
      child.on("error", reject);
      child.on("close", (code) => {
        if (!headersDone) {
          response.writeHead(500, { "content-type": "text/plain" });
          response.end(`git http-backend failed (${code}): ${stderr}`);
        } else {
          response.end();
        }
        resolve();
      });
    });
  }

  async #lfs(
    request: IncomingMessage,
    response: ServerResponse,
    record: GitLfsRequest,
    repo: string,
    rest: string,
    url: URL,
  ): Promise<void> {
    const content = /^objects\/([^/]+)$/.exec(rest);
    // Content URLs carry their own authorization in the action header, as real hosts do.
    const signed =
      this.faults.signedHrefs === true &&
      content !== null &&
      request.method === "GET" &&
      request.headers["x-signature"] === this.#signature(content[1]!);
    if (!signed && !this.#authorized(request)) {
      response.setHeader("lfs-authenticate", 'Basic realm="Git LFS"');
      return this.#json(response, 401, { message: "Credentials needed" });
    }
    if (rest === "objects/batch" && request.method === "POST") return this.#batch(request, response, record, repo, url);
    if (rest === "xet-read-token" && request.method === "GET" && this.xet) {
      return this.#json(response, 200, await this.#xetToken(this.xet));
    }
    if (rest === "locks/verify" && request.method === "POST") {
      await readBody(request);
      return this.#json(response, 200, { ours: [], theirs: [], next_cursor: "" });
    }
    if (rest === "verify" && request.method === "POST") {
      const body = JSON.parse((await readBody(request)).toString("utf8")) as { oid?: string; size?: number };
      const ok =
        typeof body.oid === "string" &&
        OID.test(body.oid) &&
        (await sizeOf(this.objectPath(repo, body.oid))) === body.size;
      return ok
        ? this.#json(response, 200, {})
        : this.#json(response, 404, { message: "object not found or wrong size" });
    }
    if (content && OID.test(content[1]!)) {
      if (request.method === "PUT") return this.#upload(request, response, repo, content[1]!);
      if (request.method === "GET") return this.#download(request, response, repo, content[1]!);
    }
    return this.#json(response, 404, { message: `no such LFS route: ${request.method} ${rest}` });
  }

  async #batch(
    request: IncomingMessage,
    response: ServerResponse,
    record: GitLfsRequest,
    repo: string,
    url: URL,
  ): Promise<void> {
    const accept = request.headers.accept ?? "";
    if (!accept.includes(LFS_JSON)) return this.#json(response, 406, { message: `Accept must be ${LFS_JSON}` });
    if (!(request.headers["content-type"] ?? "").startsWith(LFS_JSON))
      return this.#json(response, 422, { message: `Content-Type must be ${LFS_JSON}` });
    const body = JSON.parse((await readBody(request)).toString("utf8")) as {
      operation?: string;
      transfers?: string[];
      objects?: { oid?: unknown; size?: unknown }[];
      hash_algo?: string;
    };
    if (this.faults.batchStatus)
      return this.#json(response, this.faults.batchStatus.status, { message: this.faults.batchStatus.message });
    if (body.operation !== "download" && body.operation !== "upload")
      return this.#json(response, 422, { message: "operation must be download or upload" });
    const xet = body.operation === "download" && body.transfers?.includes("xet") ? this.xet : undefined;
    if (body.transfers !== undefined && !body.transfers.includes("basic") && !xet)
      return this.#json(response, 422, { message: "only the basic transfer is supported" });
    if (body.hash_algo !== undefined && body.hash_algo !== "sha256")
      return this.#json(response, 409, { message: "only sha256" });
    if (!Array.isArray(body.objects)) return this.#json(response, 422, { message: "objects must be a list" });

    const arrivedAt = record.host === "127.0.0.2" ? "127.0.0.2" : "127.0.0.1";
    const base = `${this.origin(this.faults.hrefHost ?? arrivedAt)}${url.pathname.replace(/\/objects\/batch$/, "")}`;
    const authorization = request.headers.authorization;
    if (xet) return this.#xetBatch(response, repo, base, body.objects, xet);
    const objects = await Promise.all(
      body.objects.map(async (object) => {
        const { oid, size } = object;
        if (
          typeof oid !== "string" ||
          !OID.test(oid) ||
          typeof size !== "number" ||
          !Number.isInteger(size) ||
          size < 0
        ) {
          return { oid, size, error: { code: 422, message: "invalid object" } };
        }
        const stored = await sizeOf(this.objectPath(repo, oid));
        const header: Record<string, string> = {
          // As lfs-test-server does: the content route wants this Accept, and the caller's credentials travel in the action.
          Accept: "application/vnd.git-lfs",
          ...(this.faults.signedHrefs && body.operation === "download"
            ? { "X-Signature": this.#signature(oid) }
            : authorization
              ? { Authorization: authorization }
              : {}),
        };
        if (body.operation === "download") {
          if (stored === undefined) return { oid, size, error: { code: 404, message: "Object does not exist" } };
          if (stored !== size) return { oid, size, error: { code: 422, message: `size is ${stored}` } };
          return {
            oid,
            size,
            authenticated: true,
            actions: {
              download: {
                href: `${base}/objects/${oid}`,
                header: { ...header, ...this.faults.actionHeaders },
                expires_in: this.faults.expiresIn ?? 3600,
              },
            },
          };
        }
        if (stored === size) return { oid, size, authenticated: true };
        return {
          oid,
          size,
          authenticated: true,
          actions: {
            upload: { href: `${base}/objects/${oid}`, header, expires_in: 3600 },
            verify: { href: `${base}/verify`, header, expires_in: 3600 },
          },
        };
      }),
    );
    return this.#json(response, 200, { transfer: "basic", objects, hash_algo: "sha256" });
  }

  /** A token for the Hub repo from serve, in the refresh route's JSON shape. */
  async #xetToken(xet: GitLfsXet): Promise<{ accessToken: string; exp: number; casUrl: string }> {
    const answer = await fetch(`${xet.hubUrl}/api/models/${xet.hubRepo}/xet-read-token/main`);
    if (!answer.ok) throw new Error(`serve refused a Xet token for ${xet.hubRepo}: HTTP ${answer.status}`);
    return (await answer.json()) as { accessToken: string; exp: number; casUrl: string };
  }

  async #xetBatch(
    response: ServerResponse,
    repo: string,
    base: string,
    objects: { oid?: unknown; size?: unknown }[],
    xet: GitLfsXet,
  ): Promise<void> {
    const token = await this.#xetToken(xet);
    const listing = (await (
      await fetch(`${xet.hubUrl}/api/models/${xet.hubRepo}/tree/main?recursive=true`)
    ).json()) as Array<{ lfs?: { oid: string }; xetHash?: string }>;
    const xetHashes = new Map(
      listing.flatMap((entry) => (entry.lfs && entry.xetHash ? [[entry.lfs.oid, entry.xetHash]] : [])),
    );
    const answered = await Promise.all(
      objects.map(async ({ oid, size }) => {
        if (typeof oid !== "string" || !OID.test(oid) || (await sizeOf(this.objectPath(repo, oid))) !== size) {
          return { oid, size, error: { code: 404, message: "Object does not exist" } };
        }
        const hash = xetHashes.get(oid);
        return {
          oid,
          size,
          authenticated: true,
          actions: {
            download: {
              href: `${base}/xet-read-token`,
              header: {
                "X-Xet-Cas-Url": token.casUrl,
                "X-Xet-Access-Token": token.accessToken,
                "X-Xet-Token-Expiration": String(token.exp),
                ...(hash && !xet.withoutHash ? { "X-Xet-Hash": hash } : {}),
              },
            },
          },
        };
      }),
    );
    return this.#json(response, 200, { transfer: "xet", objects: answered, hash_algo: "sha256" });
  }

  async #upload(request: IncomingMessage, response: ServerResponse, repo: string, oid: string): Promise<void> {
    const target = this.objectPath(repo, oid);
    await mkdir(dirname(target), { recursive: true });
    const temp = `${target}.upload-${process.pid}-${Math.random().toString(16).slice(2)}`;
    const hash = createHash("sha256");
    request.on("data", (chunk: Buffer) => hash.update(chunk));
    await pipeline(request, createWriteStream(temp));
    if (hash.digest("hex") !== oid) {
      await rm(temp, { force: true });
      return this.#json(response, 422, { message: "content does not match the oid" });
    }
    await rename(temp, target);
    response.writeHead(200);
    response.end();
  }

  async #download(request: IncomingMessage, response: ServerResponse, repo: string, oid: string): Promise<void> {
    const required = this.faults.requireContentHeader;
    if (required && request.headers[required.name.toLowerCase()] !== required.value) {
      return this.#json(response, 403, { message: `missing ${required.name}` });
    }
    const path = this.objectPath(repo, oid);
    const size = await sizeOf(path);
    if (size === undefined) return this.#json(response, 404, { message: "Object does not exist" });
    response.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(size) });
    if (!this.faults.corruptObjects?.has(oid)) {
      await pipeline(createReadStream(path), response);
      return;
    }
    let flipped = false;
    const stream = createReadStream(path);
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (!flipped && chunk.length > 0) {
        chunk[0] = chunk[0]! ^ 0xff;
        flipped = true;
      }
      if (!response.write(chunk)) await new Promise((resolve) => response.once("drain", resolve));
    }
    response.end();
  }

  #signature(oid: string): string {
    return createHash("sha256").update(`${this.root}:${oid}`).digest("hex");
  }

  #json(response: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    response.writeHead(status, { "content-type": LFS_JSON, "content-length": String(Buffer.byteLength(text)) });
    response.end(text);
  }
}

/** An environment for git with no user or system configuration in play. */
export function gitEnv(home: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env["PATH"] ?? "/usr/bin:/bin",
    HOME: home,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
    GIT_AUTHOR_NAME: "Test",
    GIT_AUTHOR_EMAIL: "test@example.invalid",
    GIT_COMMITTER_NAME: "Test",
    GIT_COMMITTER_EMAIL: "test@example.invalid",
    GIT_AUTHOR_DATE: "2026-01-01T00:00:00Z",
    GIT_COMMITTER_DATE: "2026-01-01T00:00:00Z",
  };
}

export const hasGitLfs = (() => {
  try {
    execFileSync("git", ["lfs", "version"], { stdio: "ignore" });
    return existsSync("/usr/lib/git-core/git-http-backend") || hasHttpBackend();
  } catch {
    return false;
  }
})();

function hasHttpBackend(): boolean {
  try {
    const execPath = execFileSync("git", ["--exec-path"], { encoding: "utf8" }).trim();
    return existsSync(join(execPath, "git-http-backend"));
  } catch {
    return false;
  }
}

function same(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function findHeaderEnd(buffer: Buffer): { at: number; length: number } | undefined {
  const crlf = buffer.indexOf("\r\n\r\n");
  const lf = buffer.indexOf("\n\n");
  if (crlf !== -1 && (lf === -1 || crlf < lf)) return { at: crlf, length: 4 };
  if (lf !== -1) return { at: lf, length: 2 };
  return undefined;
}

function parseCgiHeaders(text: string): { status: number; headers: Record<string, string> } {
  let status = 200;
  const headers: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon === -1) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === "status") status = Number.parseInt(value, 10) || 500;
    else headers[name] = value;
  }
  return { status, headers };
}
