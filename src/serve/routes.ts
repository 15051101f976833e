import type { RepoType } from "./types.js";

/**
 * Parses a request path into one of the Hub routes the server answers. Pure: the caller
 * supplies `hasRepo` so single-segment legacy ids ("gpt2") can be told from "org/name".
 *
 *   GET  /api/{models|datasets|spaces}/{repo}                       info at the default branch
 *   GET  /api/{type}s/{repo}/revision/{rev}                         info at a revision
 *   GET  /api/{type}s/{repo}/tree/{rev}[/{path}]                    tree listing (paginated)
 *   POST /api/{type}s/{repo}/paths-info/{rev}                       metadata of given paths
 *   GET|HEAD /[datasets/|spaces/]{repo}/resolve/{rev}/{path}        file content
 *   GET|HEAD /[datasets/|spaces/]{repo}/raw/{rev}/{path}            same, LFS pointers as stored in git
 *   GET|HEAD /cdn-lfs/{type}s/{repo}/{sha256}?X-Expires=…&X-Sig=…   the "CDN" answering LFS redirects
 *   GET  /api/{type}s/{repo}/xet-read-token/{rev}                   a Xet CAS token (Xet repos)
 *   GET  /v1/reconstructions/{file_id}, /v2/reconstructions/{file_id}  the Xet CAS (Bearer Xet token)
 *   GET|HEAD /xorbs/default/{xorb_hash}?X-Xet-Signed-Range=…          pre-signed xorb bytes
 *
 * Every segment is percent-decoded on its own (revisions arrive as `refs%2Fpr%2F1`, tree
 * paths as `a%2Fb`). A decoded "." or ".." piece anywhere, a NUL, or bad percent-encoding
 * makes the whole request a bad request: the server never looks such a path up.
 */

export type RouteKind =
  | "info"
  | "tree"
  | "paths-info"
  | "resolve"
  | "cdn"
  | "xet-token"
  | "xet-reconstruction"
  | "xet-xorb"
  | "unknown";

export type Route =
  | { kind: "info"; type: RepoType; repoId: string; revisionSegments: string[] | undefined }
  | { kind: "tree"; type: RepoType; repoId: string; revisionAndPath: string[] }
  | { kind: "paths-info"; type: RepoType; repoId: string; revisionSegments: string[] }
  | { kind: "resolve"; type: RepoType; repoId: string; raw: boolean; revisionAndPath: string[] }
  | { kind: "cdn"; type: RepoType; repoId: string; sha256: string }
  | { kind: "xet-token"; type: RepoType; repoId: string; revisionSegments: string[] }
  | { kind: "xet-reconstruction"; version: 1 | 2; fileId: string }
  | { kind: "xet-xorb"; xorbHash: string }
  | { kind: "unknown" }
  | { kind: "bad-request"; reason: string };

const API_TYPES: Record<string, RepoType> = { models: "model", datasets: "dataset", spaces: "space" };
const URL_PREFIX_TYPES: Record<string, RepoType> = { datasets: "dataset", spaces: "space" };

/** Splits the raw path into decoded segments, or says why the path is refused. */
export function decodePathSegments(rawPath: string): string[] | { reason: string } {
  const segments: string[] = [];
  for (const raw of rawPath.split("/").slice(1)) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      return { reason: "malformed percent-encoding in the URL path" };
    }
    if (decoded.includes("\0")) return { reason: "NUL byte in the URL path" };
    if (decoded.includes("\\")) return { reason: "backslash in the URL path" };
    if (decoded.split("/").some((piece) => piece === "." || piece === "..")) {
      return { reason: "'.' or '..' in the URL path" };
    }
    segments.push(decoded);
  }
  // "/a/b/" leaves a trailing empty segment; drop it so it does not become an empty file name.
  if (segments.length > 0 && segments[segments.length - 1] === "") segments.pop();
  return segments;
}

type RepoExists = (type: RepoType, id: string) => boolean;

/**
 * Chooses the repo id among the leading segments. Both "org/name" and a single-segment id are
 * tried (each must be followed by one of `actions`, or by nothing if `allowNoAction`); the
 * first that names an existing repo wins, else the first that fits the shape, so a missing
 * repo still gets a RepoNotFound that names the id the client meant.
 */
function splitRepo(
  type: RepoType,
  segments: readonly string[],
  actions: readonly string[],
  allowNoAction: boolean,
  hasRepo: RepoExists,
): { repoId: string; action: string | undefined; rest: string[] } | undefined {
  const candidates: Array<{ repoId: string; action: string | undefined; rest: string[] }> = [];
  for (const idLength of [2, 1]) {
    if (segments.length < idLength) continue;
    const idParts = segments.slice(0, idLength);
    if (idParts.some((part) => part === "" || part.includes("/"))) continue;
    const after = segments.slice(idLength);
    const action = after[0];
    if (action === undefined) {
      if (allowNoAction) candidates.push({ repoId: idParts.join("/"), action: undefined, rest: [] });
      continue;
    }
    if (actions.includes(action)) candidates.push({ repoId: idParts.join("/"), action, rest: after.slice(1) });
  }
  return candidates.find((candidate) => hasRepo(type, candidate.repoId)) ?? candidates[0];
}

export function parseRoute(segments: readonly string[], hasRepo: RepoExists): Route {
  const [first, second, ...rest] = segments;
  if (first === "api" && second !== undefined && API_TYPES[second]) {
    const type = API_TYPES[second]!;
    const split = splitRepo(type, rest, ["revision", "tree", "paths-info", "xet-read-token"], true, hasRepo);
    if (!split) return { kind: "unknown" };
    const { repoId, action, rest: tail } = split;
    if (action === undefined) return { kind: "info", type, repoId, revisionSegments: undefined };
    if (tail.length === 0) return { kind: "unknown" };
    if (action === "revision") return { kind: "info", type, repoId, revisionSegments: tail };
    if (action === "tree") return { kind: "tree", type, repoId, revisionAndPath: tail };
    if (action === "xet-read-token") return { kind: "xet-token", type, repoId, revisionSegments: tail };
    return { kind: "paths-info", type, repoId, revisionSegments: tail };
  }
  if (first === "cdn-lfs" && second !== undefined && API_TYPES[second]) {
    const type = API_TYPES[second]!;
    const sha256 = rest[rest.length - 1];
    const idParts = rest.slice(0, -1);
    if (sha256 === undefined || idParts.length < 1 || idParts.length > 2) return { kind: "unknown" };
    return { kind: "cdn", type, repoId: idParts.join("/"), sha256 };
  }
  if ((first === "v1" || first === "v2") && second === "reconstructions" && rest.length === 1) {
    return { kind: "xet-reconstruction", version: first === "v1" ? 1 : 2, fileId: rest[0]! };
  }
  if (first === "xorbs" && second === "default" && rest.length === 1) return { kind: "xet-xorb", xorbHash: rest[0]! };
  if (first === undefined) return { kind: "unknown" };
  const prefixed = URL_PREFIX_TYPES[first];
  const type: RepoType = prefixed ?? "model";
  const repoSegments = prefixed ? segments.slice(1) : segments;
  const split = splitRepo(type, repoSegments, ["resolve", "raw"], false, hasRepo);
  if (!split || split.rest.length < 2) return { kind: "unknown" };
  return { kind: "resolve", type, repoId: split.repoId, raw: split.action === "raw", revisionAndPath: split.rest };
}
