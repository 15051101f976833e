import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { handleInfo, handlePathsInfo, handleTree } from "./api-handlers.js";
import { errorAnswer, type Answer } from "./answer.js";
import { TokenSet, identifyCaller } from "./auth.js";
import { CdnSigner } from "./cdn.js";
import { findRepo, isHubError, type HandlerContext, type TreeOverride } from "./context.js";
import type { Fault, FaultHook } from "./faults.js";
import { faultAnswer, faultRequestFor } from "./fault-glue.js";
import { hubErrors } from "./hub-errors.js";
import { RepoRegistry } from "./registry.js";
import { handleCdn, handleResolve } from "./resolve-handler.js";
import { decodePathSegments, parseRoute, type Route, type RouteKind } from "./routes.js";
import { BodyUnavailableError, sendAnswer } from "./send-answer.js";
import type { RepoType } from "./types.js";
import { handleReconstruction, handleXetReadToken, handleXorb } from "./xet/handlers.js";
import { XetService, type XetServeOptions } from "./xet/service.js";
import type { XetStoreStats } from "./xet/store.js";
import { logger } from "../util/log.js";

/** See index.ts for the documented API. */

export interface HubServerOptions {
  /** The served directory: an HF cache, a folder of fetched outputs, or one repo folder. */
  readonly root: string;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: an ephemeral port (read it from `port`/`url`). */
  readonly port?: number;
  /** Tree entries per page (default 1000, the Hub's). A client's smaller `limit` is honoured. */
  readonly pageSize?: number;
  /** Accepted tokens: they unlock gated and private repos. */
  readonly tokens?: Iterable<string>;
  /** Repos to treat as gated / private besides those with marker files ("org/name", "datasets/org/name"). */
  readonly gated?: readonly string[];
  readonly private?: readonly string[];
  /**
   * Redirect LFS content to a CDN path, as huggingface.co does. `{ host: "127.0.0.2" }` also
   * listens on that address (same port), so the CDN is a different host for clients; `{ baseUrl }`
   * only rewrites Location (for a CDN name routed to this server some other way).
   */
  readonly cdn?: { readonly host: string } | { readonly baseUrl: string };
  /** Lifetime of signed CDN URLs, default 3600 s; 0 makes every one already expired. */
  readonly cdnUrlTtlSeconds?: number;
  /** The CDN answers 400 to requests carrying Authorization, like S3 pre-signed URLs. Default true. */
  readonly cdnRejectsAuthorization?: boolean;
  readonly faults?: FaultHook;
  readonly treeOverride?: TreeOverride;
  /**
   * Xet: `repos` lists repos to serve through Xet besides those with a `.xet` marker; the rest
   * tunes the chunk store (xorb folder and size) and token / pre-signed URL lifetimes.
   */
  readonly xet?: XetServeOptions & { readonly repos?: readonly string[] };
  /** Base URL for Link headers; default: http:// plus the request's Host header. */
  readonly publicUrl?: string;
  /** Discovery problems (skipped folders, broken links). Default: logger.warn. */
  readonly onWarning?: (message: string) => void;
  /** Keep `requests` (default true; the CLI turns it off so a long-running mirror does not grow). */
  readonly recordRequests?: boolean;
  /** Called for every request once its answer is decided (an access log). */
  readonly onRequest?: (request: RecordedRequest) => void;
}

export interface RecordedRequest {
  readonly method: string;
  /** Host header as sent: tells requests to the Hub host from those to the CDN host. */
  readonly host: string;
  /** Raw path and query. */
  readonly url: string;
  readonly route: RouteKind | "bad-request";
  /** Whether an Authorization header was sent (the token itself is never recorded). */
  readonly hasAuthorization: boolean;
  /**
   * What the Authorization header held: an accepted Hub token, a Xet token this server issued
   * (live or expired), or something else: tests check that each credential goes only where
   * it belongs.
   */
  readonly credential: "none" | "hub-token" | "xet-token" | "other";
  readonly range: string | undefined;
  /**
   * Which TCP connection the request came on, numbered from 1 in the order they were accepted
   * (both addresses count together): tests check that clients keep connections alive.
   */
  readonly connection: number;
  /** The status answered (set when the answer is decided; undefined while a fault delays it). */
  status: number | undefined;
  /** Whether a fault hook returned a fault for this request. */
  faulted: boolean;
}

export interface ServedRepo {
  readonly type: RepoType;
  readonly id: string;
  readonly folder: string;
  readonly refs: Readonly<Record<string, string>>;
  readonly commits: readonly string[];
  readonly files: number;
  readonly gated: false | "auto" | "manual";
  readonly private: boolean;
  readonly xet: boolean;
}

export interface HubServer {
  /** "http://127.0.0.1:PORT": use as HF_ENDPOINT / hubUrl. */
  readonly url: string;
  readonly port: number;
  /** The CDN base URL when `cdn` is set. */
  readonly cdnUrl: string | undefined;
  /** Every request in arrival order (cleared by clearRequests). */
  readonly requests: RecordedRequest[];
  clearRequests(): void;
  repos(): ServedRepo[];
  setFaults(hook: FaultHook | undefined): void;
  setTreeOverride(override: TreeOverride | undefined): void;
  /** What the Xet store holds so far: chunks per compression scheme, deduplicated chunks, xorbs. */
  xetStats(): XetStoreStats;
  /** Re-scan the root (new or changed repo folders). */
  reload(): Promise<void>;
  close(): Promise<void>;
}

const MAX_REQUEST_BODY = 1024 * 1024;

class RequestBodyTooLarge extends Error {}

function readRequestBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BODY) {
        // Keep draining (not destroying) so the client still reads the 413 answer.
        chunks.length = 0;
        reject(new RequestBodyTooLarge(`request body over ${MAX_REQUEST_BODY} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function urlHost(host: string): string {
  if (host === "0.0.0.0") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}

export async function startHubServer(options: HubServerOptions): Promise<HubServer> {
  const warn = options.onWarning ?? ((message: string) => logger.warn(message));
  const access = { gated: options.gated ?? [], private: options.private ?? [], xet: options.xet?.repos ?? [] };
  const xet = new XetService(options.xet);
  let registry = await RepoRegistry.load(options.root, warn, access);
  let faultHook = options.faults;
  let treeOverride = options.treeOverride;
  const tokens = new TokenSet(options.tokens ?? []);
  const host = options.host ?? "127.0.0.1";
  const pageSize = options.pageSize ?? 1000;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1)
    throw new RangeError(`pageSize must be a positive integer, got ${pageSize}`);
  const requests: RecordedRequest[] = [];
  const credentialKind = (authorization: string | undefined): RecordedRequest["credential"] => {
    if (authorization === undefined) return "none";
    if (identifyCaller({ authorization }, tokens).accepted) return "hub-token";
    return xet.tokens.issued(authorization) ? "xet-token" : "other";
  };
  const seen = new Map<string, number>();
  const connections = new WeakMap<Socket, number>();
  let accepted = 0;
  const connectionNumber = (socket: Socket): number => {
    let number = connections.get(socket);
    if (number === undefined) {
      number = ++accepted;
      connections.set(socket, number);
    }
    return number;
  };
  let cdn: CdnSigner | undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const rawUrl = req.url ?? "/";
    const queryStart = rawUrl.indexOf("?");
    const pathname = queryStart === -1 ? rawUrl : rawUrl.slice(0, queryStart);
    const query = new URLSearchParams(queryStart === -1 ? "" : rawUrl.slice(queryStart + 1));
    const segments = decodePathSegments(pathname);
    const route: Route = Array.isArray(segments)
      ? parseRoute(segments, (type, id) => registry.get(type, id) !== undefined)
      : { kind: "bad-request", reason: segments.reason };
    const record: RecordedRequest = {
      method: req.method ?? "GET",
      host: req.headers.host ?? "",
      url: rawUrl,
      route: route.kind,
      hasAuthorization: req.headers.authorization !== undefined,
      credential: credentialKind(req.headers.authorization),
      range: req.headers.range,
      connection: connectionNumber(req.socket),
      status: undefined,
      faulted: false,
    };
    if (options.recordRequests ?? true) requests.push(record);

    let fault: Fault | undefined;
    if (faultHook) {
      const key = `${record.method} ${pathname}`;
      const nth = (seen.get(key) ?? 0) + 1;
      seen.set(key, nth);
      fault = await faultHook(faultRequestFor(req, pathname, query, route, nth));
    }
    record.faulted = fault !== undefined;
    if (fault?.delayMs) await sleep(fault.delayMs);
    if (res.destroyed) return;

    const baseUrl = options.publicUrl?.replace(/\/$/, "") ?? `http://${req.headers.host ?? `${urlHost(host)}`}`;
    let answer: Answer;
    if (fault?.respond) {
      answer = faultAnswer(fault.respond);
    } else {
      const context: HandlerContext = {
        registry,
        caller: identifyCaller(req.headers, tokens),
        method: record.method,
        pathname,
        query,
        range: req.headers.range,
        baseUrl,
        pageSize,
        cdn,
        cdnRejectsAuthorization: options.cdnRejectsAuthorization ?? true,
        treeOverride,
        ignoreRange: fault?.ignoreRange === true,
        accept: req.headers.accept ?? "",
        authorization: req.headers.authorization,
        xet: { service: xet, xorbBaseUrl: cdnUrl ?? baseUrl, fault: fault?.xet },
        readBody: () => readRequestBody(req),
      };
      await prepareXet(context, route);
      answer = await dispatch(context, route, req.headers["content-type"] ?? "");
    }
    record.status = answer.status;
    options.onRequest?.(record);
    await sendAnswer(req, res, answer, fault);
  };

  /**
   * A Xet repo's files are chunked the first time a listing or download needs their Xet
   * hashes; not for a caller who may not see the repo (the delay would tell it exists).
   */
  const prepareXet = async (context: HandlerContext, route: Route) => {
    if (route.kind !== "tree" && route.kind !== "paths-info" && route.kind !== "resolve") return;
    const repo = findRepo(context, route.type, route.repoId);
    if (!isHubError(repo) && repo.xet) await xet.prepare(repo);
  };

  const dispatch = async (context: HandlerContext, route: Route, contentType: string): Promise<Answer> => {
    switch (route.kind) {
      case "info":
        return handleInfo(context, route.type, route.repoId, route.revisionSegments);
      case "tree":
        return handleTree(context, route.type, route.repoId, route.revisionAndPath);
      case "paths-info":
        try {
          return await handlePathsInfo(context, contentType, route.type, route.repoId, route.revisionSegments);
        } catch (error) {
          if (error instanceof RequestBodyTooLarge) {
            return errorAnswer({ status: 413, message: error.message, headers: { Connection: "close" } });
          }
          throw error;
        }
      case "resolve":
        return handleResolve(context, route.type, route.repoId, route.raw, route.revisionAndPath);
      case "cdn":
        return handleCdn(context, route.type, route.repoId, route.sha256);
      case "xet-token":
        return handleXetReadToken(context, route.type, route.repoId, route.revisionSegments);
      case "xet-reconstruction":
        return handleReconstruction(context, route.version, route.fileId);
      case "xet-xorb":
        return handleXorb(context, route.xorbHash);
      case "bad-request":
        return errorAnswer(hubErrors.badRequest(route.reason));
      case "unknown":
        return errorAnswer(hubErrors.notFound());
    }
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) {
        // BodyUnavailableError: a blob vanished or changed since loading (reload() picks up changes).
        const what = error instanceof BodyUnavailableError ? "blob unavailable" : "internal error";
        warn(
          `${what} answering ${req.method} ${(req.url ?? "").split("?")[0]}: ${error instanceof Error ? error.message : String(error)}`,
        );
        sendAnswer(req, res, errorAnswer(hubErrors.internal()), undefined).catch(() => res.destroy());
      } else {
        res.destroy();
      }
    });
  };

  const servers: Server[] = [];
  let port = options.port ?? 0;
  const cdnOption = options.cdn;
  // With a CDN host the same port must be free on both addresses; retry a few ephemeral ports.
  for (let attempt = 0; ; attempt++) {
    const main = createServer(listener);
    port = await listen(main, options.port ?? 0, host);
    servers.push(main);
    if (!cdnOption || !("host" in cdnOption) || cdnOption.host === host) break;
    const secondary = createServer(listener);
    try {
      await listen(secondary, port, cdnOption.host);
      servers.push(secondary);
      break;
    } catch (error) {
      await closeServer(servers.pop()!);
      if (attempt >= 4 || options.port) throw error;
    }
  }
  const url = `http://${urlHost(host)}:${port}`;
  let cdnUrl: string | undefined;
  if (cdnOption) {
    cdnUrl = "host" in cdnOption ? `http://${urlHost(cdnOption.host)}:${port}` : cdnOption.baseUrl.replace(/\/$/, "");
    cdn = new CdnSigner(cdnUrl, options.cdnUrlTtlSeconds ?? 3600);
  }

  return {
    url,
    port,
    cdnUrl,
    requests,
    clearRequests() {
      requests.length = 0;
      seen.clear();
    },
    repos() {
      return registry.list().map((repo) => ({
        type: repo.type,
        id: repo.id,
        folder: repo.folder,
        refs: Object.fromEntries(repo.refs),
        commits: [...repo.snapshots.keys()],
        files: Math.max(0, ...[...repo.snapshots.values()].map((snapshot) => snapshot.files.size)),
        gated: repo.gated,
        private: repo.private,
        xet: repo.xet,
      }));
    },
    setFaults(hook) {
      faultHook = hook;
    },
    setTreeOverride(override) {
      treeOverride = override;
    },
    xetStats() {
      return xet.store.statistics();
    },
    async reload() {
      registry = await RepoRegistry.load(options.root, warn, access);
    },
    async close() {
      await Promise.all(servers.map(closeServer));
      await xet.close();
    },
  };
}
