import type { RouteKind } from "./routes.js";
import type { RepoType } from "./types.js";
import type { XetFault } from "./xet/faults.js";

/**
 * Server-side fault injection for tests: a FaultHook sees every request before it is
 * answered and may return a Fault that changes the answer. Faults are injected here, in the
 * real server, so the client under test runs unmodified (docs/architecture.md, "How the tests
 * are built").
 *
 *     const hub = await startHubServer({ root, faults: faults.times(2, faults.serverError(503), isResolveGet) });
 *     hub.setFaults((request) => (request.file === "model.safetensors" ? { dropAfterBytes: 1000 } : undefined));
 */

/** What a hook knows about a request. Credentials are never exposed, only whether some were sent. */
export interface FaultRequest {
  readonly method: string;
  /** The Host header as sent ("127.0.0.2:41234"): tells the Hub host from the CDN host. */
  readonly host: string;
  /** Raw path and query, as received. */
  readonly url: string;
  /** Raw path without the query. */
  readonly pathname: string;
  readonly query: URLSearchParams;
  readonly route: RouteKind | "bad-request";
  readonly repo?: { readonly type: RepoType; readonly id: string };
  /** The revision as the URL spells it (decoded first segment after resolve/tree/revision). */
  readonly revision?: string;
  /** resolve: the file path after the revision; cdn: the LFS sha256; xet-reconstruction: the file id; xet-xorb: the xorb hash. */
  readonly file?: string;
  readonly range?: string;
  readonly hasAuthorization: boolean;
  /** 1 for the first request with this method and pathname, 2 for the second… (retries, resumes). */
  readonly nth: number;
}

export interface Fault {
  /** Wait this long before answering (a slow server; with a short client timeout, a timeout). */
  readonly delayMs?: number;
  /**
   * Answer this instead of the real answer: e.g. `{ status: 429, headers: { "Retry-After": "1" } }`.
   * An object body is sent as JSON.
   */
  readonly respond?: {
    readonly status: number;
    readonly headers?: Readonly<Record<string, string>>;
    readonly body?: string | Buffer | object;
  };
  /** Set (string) or remove (null) headers of the real answer, e.g. a wrong X-Linked-Size. */
  readonly headers?: Readonly<Record<string, string | null>>;
  /** Answer 200 with the whole content even when a Range was asked (a CDN that ignores ranges). */
  readonly ignoreRange?: boolean;
  /**
   * Flip the byte at this offset of the content (offset into the whole file, so a ranged
   * answer is corrupted only if its range covers it; for JSON answers, into the body).
   */
  readonly corruptByteAt?: number;
  /** Send this many body bytes, then close the connection (a dropped transfer). */
  readonly dropAfterBytes?: number;
  /** Send this many body bytes, then send nothing more and keep the connection open. */
  readonly stallAfterBytes?: number;
  /**
   * Send `bytes` body bytes every `everyMs` milliseconds (e.g. one byte every 2 s: never
   * silent long enough for a read timeout; what the low-speed limit is for).
   */
  readonly trickle?: { readonly bytes: number; readonly everyMs: number };
  /**
   * Send the content gzip-encoded, chunked, without Content-Length, as the Hub's CDN does for
   * text, if the client accepts gzip and asked for no range. dropAfterBytes/stallAfterBytes
   * then count compressed bytes; corruptByteAt still addresses the content.
   */
  readonly gzip?: boolean;
  /**
   * Hostile Xet data (see xet/faults.ts): on xet-xorb requests a lying chunk header or an LZ4
   * bomb in the bytes served; on xet-reconstruction requests a reply whose terms lie.
   */
  readonly xet?: XetFault;
}

export type FaultHook = (request: FaultRequest) => Fault | undefined | Promise<Fault | undefined>;

export type RequestMatcher = (request: FaultRequest) => boolean;

/** Small combinators so most tests need no hand-written counters. */
export const faults = {
  /** Apply `fault` to the first `count` requests that match (all requests without a matcher). */
  times(count: number, fault: Fault, match: RequestMatcher = () => true): FaultHook {
    let seen = 0;
    return (request) => {
      if (!match(request)) return undefined;
      seen += 1;
      return seen <= count ? fault : undefined;
    };
  },
  /** Apply `fault` to every request that matches. */
  always(fault: Fault, match: RequestMatcher = () => true): FaultHook {
    return (request) => (match(request) ? fault : undefined);
  },
  /** The first hook that returns a fault wins. */
  first(...hooks: FaultHook[]): FaultHook {
    return async (request) => {
      for (const hook of hooks) {
        const fault = await hook(request);
        if (fault) return fault;
      }
      return undefined;
    };
  },
  /** 429 with the Hub's rate-limit headers (HH waits t+1 s when r=0, else Retry-After+1). */
  rateLimited(retryAfterSeconds: number): Fault {
    return {
      respond: {
        status: 429,
        headers: {
          "Retry-After": String(retryAfterSeconds),
          RateLimit: `"api";r=0;t=${retryAfterSeconds}`,
          "RateLimit-Policy": `"fixed window";"api";q=500;w=300`,
        },
        body: { error: "You have exceeded our rate limit. Please wait and retry." },
      },
    };
  },
  serverError(status = 503): Fault {
    return { respond: { status, body: { error: "Service temporarily unavailable" } } };
  },
  /** The CAS refusing an expired Xet token: clients refresh it from xet-read-token and retry. */
  xetTokenExpired(): Fault {
    return { respond: { status: 401, body: { error: "Xet token expired: refresh it from xet-read-token" } } };
  },
  /** A pre-signed xorb URL refused (expired): clients query the reconstruction again for fresh URLs. */
  xorbAccessDenied(): Fault {
    return {
      respond: {
        status: 403,
        headers: { "Content-Type": "application/xml" },
        body: '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>\n',
      },
    };
  },
};

/** Matchers for the common cases. */
export const match = {
  route: (kind: RouteKind) => (request: FaultRequest) => request.route === kind,
  /** Content requests (GET resolve or CDN), not HEAD metadata probes. */
  contentGet: (request: FaultRequest) =>
    request.method === "GET" && (request.route === "resolve" || request.route === "cdn"),
  file: (path: string) => (request: FaultRequest) => request.file === path,
  /** Reconstruction queries to the Xet CAS (either version). */
  xetReconstruction: (request: FaultRequest) => request.route === "xet-reconstruction",
  /** Byte-range reads of xorbs at pre-signed URLs. */
  xetXorb: (request: FaultRequest) => request.route === "xet-xorb",
};
