import type { HttpClient, JsonReader } from "../../http/client.js";
import type { Credential } from "../../http/settings.js";
import { UserError } from "../../errors/user-error.js";
import { JsonArrayStream, JsonEntryStream } from "../../json/index.js";
import { type ListingTally, listingTally } from "../listing.js";
import { readXetAccess, type XetAccess } from "../xet/tokens.js";
import type { HubRepoType } from "./spec.js";
import { GIT_OID } from "../../util/hex-ids.js";

/**
 * The Hub API calls a download needs (huggingface_hub hf_api.py: repo_info at a revision, and
 * list_repo_tree): revision → commit, and the recursive tree at that commit, following
 * `Link` pages, or for a per-file fetch the entries of the paths it names (get_paths_info);
 * and for files stored in Xet, a Xet read token.
 * Responses are checked for shape here; paths and digests are checked by the adapter.
 *
 * Both are read as they arrive (src/json), keeping only what is used: of the revision info
 * its `sha` (not the list of every file a large repo's answer carries), of the tree the
 * entries the `files` patterns select, each page filtered while it is parsed. A listing's
 * memory is then what is fetched, not what the repo holds; its length is capped
 * (src/sources/listing.ts).
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
  const { body: sha } = await http.readJson(url, shaOnly, { credential: ref.credential, signal });
  if (typeof sha !== "string" || !GIT_OID.test(sha)) {
    throw new UserError({
      what: `The Hub did not return a commit for revision '${revision}' of ${ref.repo}`,
      context: { endpoint: ref.endpoint },
      cause: `"sha" is ${JSON.stringify(sha) ?? "missing"} in the revision info`,
    });
  }
  return sha;
}

/** The `sha` member of the revision info; the rest (siblings, card data) is checked but never built. */
function shaOnly(): JsonReader<unknown> {
  let sha: unknown;
  const stream = new JsonEntryStream({
    select: (key) => key === "sha",
    onEntry: (_key, value) => {
      sha = value;
    },
  });
  return {
    write: (chunk) => stream.write(chunk),
    end: () => {
      stream.end();
      return sha;
    },
  };
}

/** The files of a tree listing that `keep` selects, and a tally of all of it (for "nothing matches"). */
export interface HubTree {
  readonly files: readonly HubTreeFile[];
  readonly listed: ListingTally;
}

export async function listTree(
  http: HttpClient,
  ref: HubRepoRef,
  commit: string,
  keep: (path: string) => boolean,
  signal: AbortSignal,
): Promise<HubTree> {
  const files: HubTreeFile[] = [];
  const listed = listingTally(`the Hub's tree listing of ${ref.repo}`);
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
    // Filtered while parsed, into the page's own list: a page cut off and asked again is not counted twice.
    const page = await http.readJson(next, () => treePage(ref, keep, listed), {
      credential: ref.credential,
      signal,
    });
    listed.add(page.body.entries, page.body.paths);
    // One by one: a page may hold hundreds of thousands, more than a spread's arguments may be.
    for (const file of page.body.files) files.push(file);
    next = nextPageUrl(page.headers["link"], page.url);
  }
  return { files, listed };
}

interface TreePage {
  readonly files: HubTreeFile[];
  /** Entries on the page, directories included. */
  readonly entries: number;
  /** The first few file paths, for a message. */
  readonly paths: string[];
}

function treePage(ref: HubRepoRef, keep: (path: string) => boolean, listed: ListingTally): JsonReader<TreePage> {
  const page = { files: [] as HubTreeFile[], paths: [] as string[] };
  const answerName = `The Hub's tree listing of ${ref.repo}`;
  let entries = 0;
  const stream = new JsonArrayStream({
    onElement: (entry) => {
      listed.check(++entries);
      const file = readTreeEntry(entry, answerName);
      if (file === undefined) return;
      if (page.paths.length < SAMPLE_PATHS) page.paths.push(file.path);
      if (keep(file.path)) page.files.push(file);
    },
  });
  return {
    write: (chunk) => stream.write(chunk),
    end: () => {
      stream.end();
      return { ...page, entries };
    },
  };
}

const SAMPLE_PATHS = 12;

/** Paths per paths-info request: the Hub takes up to 2000; a smaller body retries cheaper. */
const PATHS_PER_REQUEST = 1000;

/**
 * The entries of exactly `paths` at `commit` (POST paths-info with `{ paths, expand: false }`,
 * as @huggingface/hub sends it): what a per-file fetch of a locked model needs, in one small
 * answer per thousand paths, where the tree of a large repo is a page per thousand files,
 * each counted against the Hub's API quota. A path the commit lacks is absent from the
 * answer; an entry for a path not asked for is ignored, and so is a second one for a path.
 */
export async function pathsInfo(
  http: HttpClient,
  ref: HubRepoRef,
  commit: string,
  paths: readonly string[],
  signal: AbortSignal,
): Promise<HubTreeFile[]> {
  const answerName = `The Hub's paths-info answer for ${ref.repo}`;
  const asked = new Set(paths);
  const found = new Map<string, HubTreeFile>();
  for (let start = 0; start < paths.length; start += PATHS_PER_REQUEST) {
    const { body } = await http.postJson<unknown>(
      `${apiBase(ref)}/paths-info/${commit}`,
      { paths: paths.slice(start, start + PATHS_PER_REQUEST), expand: false },
      { credential: ref.credential, signal },
    );
    if (!Array.isArray(body))
      throw new UserError({ what: `${answerName} is not a list`, context: { endpoint: ref.endpoint } });
    for (const entry of body) {
      const file = readTreeEntry(entry, answerName);
      if (file !== undefined && asked.has(file.path) && !found.has(file.path)) found.set(file.path, file);
    }
  }
  return [...found.values()];
}

/** One entry of a tree listing or of a paths-info answer (the same shape); undefined for a directory. */
function readTreeEntry(entry: unknown, answerName: string): HubTreeFile | undefined {
  const bad = (why: string) =>
    new UserError({
      what: `${answerName} has a malformed entry: ${why}`,
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
