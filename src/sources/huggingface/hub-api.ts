import type { HttpClient } from "../../http/client.js";
import type { Credential } from "../../http/settings.js";
import { UserError } from "../../errors/user-error.js";
import { readXetAccess, type XetAccess } from "../xet/tokens.js";
import type { HubRepoType } from "./spec.js";

/**
 * The Hub API calls a download needs (huggingface_hub hf_api.py: repo_info at a revision, and
 * list_repo_tree): revision → commit, and the recursive tree at that commit, following
 * `Link` pages; and for files stored in Xet, a Xet read token.
 * Responses are checked for shape here; paths and digests are checked by the adapter.
 */
export interface HubRepoRef {
  readonly endpoint: string;
  readonly repo: string;
  readonly repoType: HubRepoType;
  readonly credential: Credential | undefined;
}

export interface HubTreeFile {
  readonly path: string;
  readonly size: number;
  /** Git blob sha1 (of the LFS pointer for LFS files). */
  readonly oid: string;
  readonly lfs: { readonly oid: string; readonly size: number } | undefined;
  /**
   * The Xet file hash, lowercased, when the listing gives a valid one (64 hex digits, as
   * huggingface_hub's utils/_xet.py accepts it); anything else means the file has no Xet data.
   */
  readonly xetHash: string | undefined;
}

const COMMIT = /^[0-9a-f]{40}$/;
const XET_HASH = /^[0-9a-fA-F]{64}$/;
/** A repo with more pages than this is a server that never stops paginating. */
const MAX_TREE_PAGES = 100_000;

function apiBase({ endpoint, repoType, repo }: HubRepoRef): string {
  return `${endpoint}/api/${repoType}s/${repo}`;
}

export function resolveUrl({ endpoint, repoType, repo }: HubRepoRef, commit: string, path: string): string {
  const prefix = repoType === "model" ? "" : `${repoType}s/`;
  return `${endpoint}/${prefix}${repo}/resolve/${commit}/${path.split("/").map(encodeURIComponent).join("/")}`;
}

export async function resolveCommit(
  http: HttpClient,
  ref: HubRepoRef,
  revision: string,
  signal: AbortSignal,
): Promise<string> {
  const url = `${apiBase(ref)}/revision/${encodeURIComponent(revision)}`;
  const { body } = await http.getJson<unknown>(url, { credential: ref.credential, signal });
  const sha = typeof body === "object" && body !== null ? (body as { sha?: unknown }).sha : undefined;
  if (typeof sha !== "string" || !COMMIT.test(sha)) {
    throw new UserError({
      what: `The Hub did not return a commit for revision '${revision}' of ${ref.repo}`,
      context: { endpoint: ref.endpoint },
      cause: `"sha" is ${JSON.stringify(sha) ?? "missing"} in the revision info`,
    });
  }
  return sha;
}

export async function listTree(
  http: HttpClient,
  ref: HubRepoRef,
  commit: string,
  signal: AbortSignal,
): Promise<HubTreeFile[]> {
  const files: HubTreeFile[] = [];
  const visited = new Set<string>();
  let next: string | undefined = `${apiBase(ref)}/tree/${commit}?recursive=true&expand=false`;
  while (next !== undefined) {
    if (visited.has(next) || visited.size >= MAX_TREE_PAGES) {
      throw new UserError({
        what: `The Hub's tree listing of ${ref.repo} does not end (a page repeats)`,
        context: { endpoint: ref.endpoint },
      });
    }
    visited.add(next);
    const page = await http.getJson<unknown>(next, { credential: ref.credential, signal });
    if (!Array.isArray(page.body)) {
      throw new UserError({
        what: `The Hub's tree listing of ${ref.repo} is not a JSON array`,
        context: { endpoint: ref.endpoint },
      });
    }
    for (const entry of page.body) {
      const file = readTreeEntry(entry, ref.repo);
      if (file) files.push(file);
    }
    next = nextPageUrl(page.headers["link"], page.url);
  }
  return files;
}

function readTreeEntry(entry: unknown, repo: string): HubTreeFile | undefined {
  const bad = (why: string) =>
    new UserError({
      what: `The Hub's tree listing of ${repo} has a malformed entry: ${why}`,
      context: { entry: JSON.stringify(entry)?.slice(0, 200) },
    });
  if (typeof entry !== "object" || entry === null) throw bad("not an object");
  const { type, path, size, oid, lfs, xetHash } = entry as Record<string, unknown>;
  if (type === "directory") return undefined;
  if (type !== "file") throw bad(`unknown type ${JSON.stringify(type)}`);
  if (typeof path !== "string") throw bad("path is not a string");
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0)
    throw bad("size is not a non-negative integer");
  if (typeof oid !== "string") throw bad("oid is not a string");
  const xet = typeof xetHash === "string" && XET_HASH.test(xetHash) ? xetHash.toLowerCase() : undefined;
  if (lfs === undefined || lfs === null) return { path, size, oid, lfs: undefined, xetHash: xet };
  const { oid: lfsOid, size: lfsSize } = lfs as Record<string, unknown>;
  if (typeof lfsOid !== "string") throw bad("lfs.oid is not a string");
  if (lfsSize !== undefined && lfsSize !== size) throw bad(`lfs.size ${String(lfsSize)} differs from size ${size}`);
  return { path, size, oid, lfs: { oid: lfsOid, size }, xetHash: xet };
}

/**
 * A Xet token for the repo at `commit` (huggingface_hub's xet-read-token route; the Hub's
 * own credential goes with it, to the Hub's host only). The token itself is for the CAS.
 */
export async function xetReadToken(
  http: HttpClient,
  ref: HubRepoRef,
  commit: string,
  signal: AbortSignal,
): Promise<XetAccess> {
  const url = new URL(`${apiBase(ref)}/xet-read-token/${commit}`);
  const { body } = await http.getJson<unknown>(url, { credential: ref.credential, signal });
  return readXetAccess(body, url);
}

/** GitHub-style `Link: <url>; rel="next"` (huggingface_hub utils/_pagination.py). */
function nextPageUrl(link: string | undefined, base: string): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(",")) {
    const match = /<([^>]*)>\s*;(.*)$/.exec(part.trim());
    if (match && /(^|;)\s*rel\s*=\s*"?next"?\s*(;|$)/.test(match[2] ?? ""))
      return new URL(match[1] ?? "", base).toString();
  }
  return undefined;
}
