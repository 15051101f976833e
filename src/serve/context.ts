import type { Caller } from "./auth.js";
import type { CdnSigner } from "./cdn.js";
import { checkRepoVisible } from "./auth.js";
import { hubErrors, type HubError } from "./hub-errors.js";
import type { RepoRegistry } from "./registry.js";
import type { HubRepo, RepoType } from "./types.js";
import type { XetFault } from "./xet/faults.js";
import type { XetService } from "./xet/service.js";

/** A tree listing a test wants served instead of the real one (hostile paths, duplicates…). */
export interface TreeOverrideRequest {
  readonly repo: { readonly type: RepoType; readonly id: string };
  /** The revision as requested, and the commit it resolved to. */
  readonly revision: string;
  readonly commit: string;
  /** The folder listed ("" = root). */
  readonly path: string;
  readonly recursive: boolean;
}

/**
 * Returns the entries to serve (any JSON values; they are paginated like real ones), or
 * undefined to serve the real listing.
 */
export type TreeOverride = (request: TreeOverrideRequest) => readonly unknown[] | undefined;

/** Everything a route handler may consult; no sockets. */
export interface HandlerContext {
  readonly registry: RepoRegistry;
  readonly caller: Caller;
  readonly method: string;
  /** Raw path without the query, as received. */
  readonly pathname: string;
  readonly query: URLSearchParams;
  readonly range: string | undefined;
  /** "http://host:port" the client used (or the configured public URL), for Link headers. */
  readonly baseUrl: string;
  readonly pageSize: number;
  readonly cdn: CdnSigner | undefined;
  readonly cdnRejectsAuthorization: boolean;
  readonly treeOverride: TreeOverride | undefined;
  /** A fault asked to answer ranged requests with the whole content. */
  readonly ignoreRange: boolean;
  /** The Accept header (resolve answers Xet file info to `application/vnd.xet-fileinfo+json`). */
  readonly accept: string;
  /** The raw Authorization header: only the Xet CAS reads it (for its own tokens). */
  readonly authorization: string | undefined;
  readonly xet: XetContext;
  readonly readBody: () => Promise<Buffer>;
}

export interface XetContext {
  readonly service: XetService;
  /** Where pre-signed xorb URLs point: the CDN host when there is one, else this server. */
  readonly xorbBaseUrl: string;
  readonly fault: XetFault | undefined;
}

/** The repo, if it exists and the caller may know it exists. */
export function findRepo(context: HandlerContext, type: RepoType, id: string): HubRepo | HubError {
  const repo = context.registry.get(type, id);
  if (!repo) return hubErrors.repoNotFound(context.caller.sentCredentials);
  return checkRepoVisible(repo, context.caller) ?? repo;
}

export function isHubError(value: HubRepo | HubError): value is HubError {
  return "status" in value;
}
