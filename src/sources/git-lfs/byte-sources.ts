import type { Readable } from "node:stream";
import type { HttpClient } from "../../http/client.js";
import type { Credential } from "../../http/settings.js";
import type { ByteSource, OpenedBody } from "../../transfer/types.js";
import { displayUrl } from "../../util/secrets.js";
import { requestDownloads, type BatchContext, type DownloadAction, type LfsObjectRequest } from "./batch.js";
import type { GitRunner } from "./git.js";

/** Renew an href this long before it says it expires. */
const EXPIRY_MARGIN_MS = 60_000;

/**
 * An LFS object's bytes: a GET of the action's href with exactly the action's headers.
 * The server's own Authorization (in the action) goes to the href's host; ours goes only
 * to the hosts we trust with it (never to an href on another host). An href that has
 * expired (the engine may reach a file long after the batch call, or resume it later)
 * is renewed with a one-object batch request first. Without a `first` action (a fallback
 * that may never be needed) the batch request is made on the first open.
 */
export function lfsObjectSource(
  object: LfsObjectRequest,
  first: DownloadAction | undefined,
  context: BatchContext & { readonly ownCredential: Credential | undefined; readonly now?: () => number },
): ByteSource {
  let action = first;
  let source = action && byteSourceFor(context.http, action, context.ownCredential, object.path);
  return {
    description: first
      ? `${object.path} (${displayUrl(first.href)})`
      : `${object.path} (${displayUrl(context.endpoint)})`,
    supportsRanges: true,
    async open(range, signal) {
      const now = (context.now ?? Date.now)();
      if (action === undefined || (action.expiresAt !== undefined && action.expiresAt - EXPIRY_MARGIN_MS <= now)) {
        const renewed = (await requestDownloads([object], { ...context, signal })).get(object.oid);
        if (renewed !== undefined) {
          action = renewed;
          source = byteSourceFor(context.http, action, context.ownCredential, object.path);
        }
      }
      if (source === undefined) throw new Error(`internal error: no download action for ${object.path}`);
      return source.open(range, signal);
    },
  };
}

function byteSourceFor(
  http: HttpClient,
  action: DownloadAction,
  ownCredential: Credential | undefined,
  path: string,
): ByteSource {
  return http.byteSource(action.href, {
    headers: action.headers,
    credential: action.credential ?? ownCredential,
    description: `${path} (${displayUrl(action.href)})`,
  });
}

/**
 * A file stored in git itself: `git cat-file blob <oid>` from the fetched repository,
 * a local copy, not a download. The engine still hashes it (sha256 for the blob name)
 * and checks it against the git blob id and size while copying.
 */
export function gitBlobSource(git: GitRunner, oid: string, path: string): ByteSource {
  return {
    description: `${path} (git blob ${oid.slice(0, 12)})`,
    supportsRanges: false,
    async open(_range, signal): Promise<OpenedBody> {
      const stdout: Readable = git.stream(["cat-file", "blob", oid], signal);
      return {
        body: stdout,
        start: 0,
        totalSize: undefined,
        resumable: false,
        // A blob id names its bytes: a copy that failed its check would fail again.
        validator: `git blob ${oid}`,
        cancel: async () => {
          stdout.destroy();
        },
      };
    },
  };
}
