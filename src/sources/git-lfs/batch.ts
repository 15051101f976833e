import type { HttpClient } from "../../http/client.js";
import type { Credential } from "../../http/settings.js";
import type { Explanation } from "../../errors/explain.js";
import { type Failure, TransferFailure } from "../../errors/failures.js";
import { UserError } from "../../errors/user-error.js";
import { displayUrl, registerSecret } from "../../util/secrets.js";

/**
 * The Git LFS Batch API, download side (git-lfs docs/api/batch.md, basic-transfers.md):
 *   POST <endpoint>/objects/batch   Accept/Content-Type: application/vnd.git-lfs+json
 *   { "operation": "download", "transfers": ["basic"], "objects": [{ oid, size }], "hash_algo": "sha256" }
 * answers, per object, a download action { href, header?, expires_in?, expires_at? } or
 * an error { code, message }. Everything in the answer is checked before use: an action
 * for an object we did not ask about is ignored, a missing one is an error, an href
 * must be http(s), the transfer must be one we offered.
 *
 * The git-xet source offers ["xet", "basic"]: a server that picks "xet" (Hugging Face's,
 * for repos stored in Xet; xet-core git_xet/) answers actions whose `href` is the Xet token's
 * refresh URL and whose headers carry X-Xet-Cas-Url, X-Xet-Access-Token,
 * X-Xet-Token-Expiration and, by this project's convention, X-Xet-Hash (sources/git-xet/).
 */
const LFS_MEDIA_TYPE = "application/vnd.git-lfs+json";
/** What a header value may not hold: anything but tab, visible ASCII, space and obs-text (RFC 9110 §5.5). */
const INVALID_FIELD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
/** git-lfs's default lfs.transfer.batchSize. */
const BATCH_SIZE = 100;

export interface LfsObjectRequest {
  readonly oid: string;
  readonly size: number;
  /** The file's path, for messages. */
  readonly path: string;
}

/** The transfer adapters this client speaks. */
export type LfsTransfer = "basic" | "xet";

export interface DownloadAction {
  /** The transfer the server chose for this action: `href` is the content for "basic", the Xet token refresh URL for "xet". */
  readonly transfer: LfsTransfer;
  readonly href: URL;
  /** Headers the server wants on the download, Authorization excluded (it is in `credential`). */
  readonly headers: Readonly<Record<string, string>>;
  /** The server's own Authorization for this href: sent to the href's host only. */
  readonly credential: Credential | undefined;
  /** Epoch ms after which the href should not be used (undefined: no expiry given). */
  readonly expiresAt: number | undefined;
}

export interface BatchContext {
  readonly http: HttpClient;
  readonly endpoint: URL;
  /** Our credential for the API (scoped to the hosts we trust with it). */
  readonly credential: Credential | undefined;
  readonly signal: AbortSignal;
  /** Describes the repo in messages. */
  readonly repo: string;
  readonly now?: () => number;
  /** The transfers offered, in order of preference; default ["basic"]. */
  readonly transfers?: readonly LfsTransfer[];
}

interface BatchResponse {
  transfer?: unknown;
  objects?: unknown;
}

interface BatchObject {
  oid?: unknown;
  size?: unknown;
  authenticated?: unknown;
  actions?: { download?: { href?: unknown; header?: unknown; expires_in?: unknown; expires_at?: unknown } };
  error?: { code?: unknown; message?: unknown };
}

/** Download actions for every object, asked for in batches of BATCH_SIZE. */
export async function requestDownloads(
  objects: readonly LfsObjectRequest[],
  context: BatchContext,
): Promise<Map<string, DownloadAction>> {
  const actions = new Map<string, DownloadAction>();
  for (let start = 0; start < objects.length; start += BATCH_SIZE) {
    const chunk = objects.slice(start, start + BATCH_SIZE);
    for (const [oid, action] of await requestBatch(chunk, context)) actions.set(oid, action);
  }
  return actions;
}

async function requestBatch(
  objects: readonly LfsObjectRequest[],
  context: BatchContext,
): Promise<Map<string, DownloadAction>> {
  const url = new URL(`${context.endpoint.href.replace(/\/+$/, "")}/objects/batch`);
  // The same object can be two files: ask once.
  const unique = [...new Map(objects.map((object) => [object.oid, object])).values()];
  const transfers = context.transfers ?? ["basic"];
  const body = {
    operation: "download",
    transfers,
    objects: unique.map(({ oid, size }) => ({ oid, size })),
    hash_algo: "sha256",
  };
  const askedAt = (context.now ?? Date.now)();
  const answer = await context.http.postJson<BatchResponse>(url, body, {
    accept: LFS_MEDIA_TYPE,
    headers: { "content-type": LFS_MEDIA_TYPE },
    credential: context.credential,
    signal: context.signal,
  });
  const response: BatchResponse = answer.body;

  const malformed = (why: string) =>
    new UserError({
      what: `The LFS server for ${context.repo} answered the batch request with something malformed: ${why}`,
      context: { endpoint: displayUrl(context.endpoint) },
    });
  if (typeof response !== "object" || response === null || !Array.isArray(response.objects))
    throw malformed("no objects list");
  // No transfer named means basic (batch.md).
  const transfer = response.transfer === undefined || response.transfer === null ? "basic" : response.transfer;
  if (!(transfers as readonly unknown[]).includes(transfer))
    throw malformed(
      `transfer ${JSON.stringify(response.transfer)} is not one offered (${transfers.map((t) => `"${t}"`).join(", ")})`,
    );

  const answered = new Map<string, BatchObject>();
  for (const item of response.objects as BatchObject[]) {
    if (typeof item === "object" && item !== null && typeof item.oid === "string") answered.set(item.oid, item);
  }
  const actions = new Map<string, DownloadAction>();
  for (const object of unique) {
    const item = answered.get(object.oid);
    if (item === undefined) throw malformed(`no answer for ${object.path} (oid ${object.oid})`);
    if (item.error !== undefined && item.error !== null) {
      const code = typeof item.error.code === "number" ? item.error.code : undefined;
      const message = typeof item.error.message === "string" ? item.error.message : "";
      const missing = code === 404 || code === 410;
      throw new UserError(
        {
          what: missing ? `The LFS server does not have ${object.path}` : `The LFS server refused ${object.path}`,
          context: {
            repo: context.repo,
            file: object.path,
            oid: object.oid,
            size: object.size,
            endpoint: displayUrl(context.endpoint),
          },
          cause: `LFS error ${code ?? "?"}${message ? `: ${message}` : ""}`,
          fix: missing
            ? [
                "The object was never pushed to this LFS server (git lfs push --all), or it was removed. Leave the file out with the LFS file patterns (lfsFiles for source.git-lfs, files for source.git-xet) if you do not need it.",
              ]
            : [],
        },
        // A missing object is "gone" to `verify`, like a 404 from any other source.
        missing ? { code: "NMR_NOT_FOUND" } : undefined,
      );
    }
    const download = item.actions?.download;
    if (download === undefined || download === null || typeof download.href !== "string")
      throw malformed(`no download action for ${object.path}`);
    let href: URL;
    try {
      href = new URL(download.href);
    } catch {
      throw malformed(`the href for ${object.path} is not a URL`);
    }
    if (href.protocol !== "https:" && href.protocol !== "http:")
      throw malformed(`the href for ${object.path} is not http(s)`);
    actions.set(object.oid, {
      transfer: transfer as LfsTransfer,
      href,
      ...actionHeaders(download.header, href, malformed),
      expiresAt: expiry(download, askedAt),
    });
  }
  return actions;
}

/** Headers of an action: Authorization becomes a credential for the href's host; values are registered as secrets. */
function actionHeaders(
  header: unknown,
  href: URL,
  malformed: (why: string) => Error,
): Pick<DownloadAction, "headers" | "credential"> {
  if (header === undefined || header === null) return { headers: {}, credential: undefined };
  if (typeof header !== "object" || Array.isArray(header)) throw malformed("an action header is not an object");
  const headers: Record<string, string> = {};
  let credential: Credential | undefined;
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    // RFC 9110 field names and values, as undici checks them before it sends a request.
    if (typeof value !== "string" || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || INVALID_FIELD_VALUE.test(value))
      throw malformed(`action header ${JSON.stringify(name)} is not a valid header`);
    const lower = name.toLowerCase();
    if (lower === "authorization") {
      registerSecret(value);
      registerSecret(value.replace(/^\S+\s+/, ""));
      credential = { authorization: value, hosts: [href.host] };
    } else if (
      lower === "cookie" ||
      lower === "proxy-authorization" ||
      lower === "host" ||
      lower === "content-length" ||
      lower === "range"
    ) {
    } else {
      // Action headers are how hosts pass signatures and tokens: treat every value as secret but the plain ones.
      if (!PLAIN_HEADERS.has(lower)) registerSecret(value);
      headers[name] = value;
    }
  }
  return { headers, credential };
}

/** Action headers whose values say nothing secret (redacting them would only garble messages). */
const PLAIN_HEADERS: ReadonlySet<string> = new Set([
  "accept",
  "content-type",
  "user-agent",
  "x-xet-cas-url",
  "x-xet-token-expiration",
  "x-xet-hash",
  "x-xet-session-id",
]);

/** expires_in (relative to our clock when we asked) wins over expires_at, as git-lfs does. */
function expiry(download: { expires_in?: unknown; expires_at?: unknown }, askedAt: number): number | undefined {
  if (typeof download.expires_in === "number" && download.expires_in > 0) return askedAt + download.expires_in * 1000;
  if (typeof download.expires_at === "string") {
    const at = Date.parse(download.expires_at);
    if (Number.isFinite(at) && at > 0) return at;
  }
  return undefined;
}

/** The git-lfs source's explain hook for a refused or failed batch request. */
export function explainBatchFailure(
  failure: Failure,
  context: Pick<BatchContext, "repo" | "endpoint" | "credential">,
): Explanation | undefined {
  if (!(failure instanceof TransferFailure) || failure.status === undefined) return undefined;
  const status = failure.status;
  const auth = status === 401 || status === 403;
  return {
    what: auth
      ? `The LFS server for ${context.repo} refused the batch request (HTTP ${status})`
      : status === 404
        ? `There is no Git LFS API at ${displayUrl(context.endpoint)}`
        : `The LFS batch request for ${context.repo} failed (HTTP ${status})`,
    context: {
      repo: context.repo,
      endpoint: failure.url,
      credentials: context.credential ? "sent" : "none (anonymous)",
    },
    cause: failure.serverMessage ?? failure.message,
    fix: auth
      ? [
          "Give a token with auth.tokenFile or auth.tokenEnvVar (sent as HTTP Basic; write user:token to choose the user name).",
          "The token is sent only to the repository's own host: an .lfsconfig lfs.url on another host gets none.",
        ]
      : status === 404
        ? ["Check the URL, or set lfs.url in the repository's .lfsconfig if its LFS server lives elsewhere."]
        : status >= 500
          ? ["The LFS server is having trouble: try again later."]
          : [],
    ...(auth ? { help: "docs/sources/git-lfs.md" } : {}),
  };
}
