import { createHash } from "node:crypto";
import { errorAnswer, jsonAnswer, type Answer } from "./answer.js";
import { findRepo, isHubError, type HandlerContext } from "./context.js";
import { hubErrors } from "./hub-errors.js";
import { resolveRevision, splitRevision } from "./registry.js";
import {
  decodeCursor,
  encodeCursor,
  listTree,
  paginate,
  pathEntry,
  withLastCommit,
  type TreeEntryJson,
  type XetHashOf,
} from "./tree-listing.js";
import type { HubRepo, RepoType, Snapshot } from "./types.js";

/** The JSON API routes: repo info, tree listing, paths-info. */

const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** A stable 24-hex id in the shape of the Hub's `_id` (@huggingface/hub reads it). */
function objectId(type: RepoType, id: string): string {
  return createHash("sha1").update(`${type}s/${id}`).digest("hex").slice(0, 24);
}

function repoInfoJson(repo: HubRepo, snapshot: Snapshot, withBlobs: boolean): Record<string, unknown> {
  const siblings = [...snapshot.files.values()]
    .sort((a, b) => byBytes(a.path, b.path))
    .map((file) =>
      withBlobs
        ? {
            rfilename: file.path,
            size: file.size,
            blobId: file.oid,
            ...(file.lfs
              ? { lfs: { sha256: file.lfs.sha256, size: file.lfs.size, pointerSize: file.lfs.pointerSize } }
              : {}),
          }
        : { rfilename: file.path },
    );
  const slash = repo.id.indexOf("/");
  return {
    _id: objectId(repo.type, repo.id),
    id: repo.id,
    ...(repo.type === "model" ? { modelId: repo.id } : {}),
    ...(slash > 0 ? { author: repo.id.slice(0, slash) } : {}),
    sha: snapshot.commit,
    lastModified: snapshot.lastModified,
    createdAt: snapshot.lastModified,
    private: repo.private,
    gated: repo.gated,
    disabled: false,
    downloads: 0,
    likes: 0,
    tags: [],
    ...(repo.type === "space" ? { sdk: "static" } : {}),
    siblings,
  };
}

/** Xet hashes for a listing (the dispatcher prepared Xet repos before calling the handler). */
const xetHashes =
  (context: HandlerContext, repo: HubRepo): XetHashOf =>
  (file) =>
    context.xet.service.fileOf(repo, file)?.hash;

const isTrue = (value: string | null) => value !== null && ["true", "1"].includes(value.toLowerCase());

export function handleInfo(
  context: HandlerContext,
  type: RepoType,
  repoId: string,
  revisionSegments: string[] | undefined,
): Answer {
  if (context.method !== "GET" && context.method !== "HEAD")
    return errorAnswer(hubErrors.methodNotAllowed(["GET", "HEAD"]));
  const repo = findRepo(context, type, repoId);
  if (isHubError(repo)) return errorAnswer(repo);
  const revision = revisionSegments === undefined ? "main" : revisionSegments.join("/");
  const snapshot = resolveRevision(repo, revision);
  if (!snapshot) return errorAnswer(hubErrors.revisionNotFound(revision));
  return jsonAnswer(repoInfoJson(repo, snapshot, isTrue(context.query.get("blobs"))));
}

function nextPageUrl(context: HandlerContext, offset: number): string {
  const query = new URLSearchParams(context.query);
  query.set("cursor", encodeCursor(offset));
  return `${context.baseUrl}${context.pathname}?${query.toString()}`;
}

export function handleTree(context: HandlerContext, type: RepoType, repoId: string, revisionAndPath: string[]): Answer {
  if (context.method !== "GET" && context.method !== "HEAD")
    return errorAnswer(hubErrors.methodNotAllowed(["GET", "HEAD"]));
  const repo = findRepo(context, type, repoId);
  if (isHubError(repo)) return errorAnswer(repo);
  const split = splitRevision(repo, revisionAndPath);
  if (!split) return errorAnswer(hubErrors.revisionNotFound(revisionAndPath[0] ?? ""));
  const path = split.rest.join("/");
  const recursive = isTrue(context.query.get("recursive"));
  const expand = isTrue(context.query.get("expand"));

  const override = context.treeOverride?.({
    repo: { type, id: repoId },
    revision: split.revision,
    commit: split.snapshot.commit,
    path,
    recursive,
  });
  let entries: readonly unknown[];
  if (override !== undefined) {
    entries = override;
  } else {
    const listed = listTree(split.snapshot, path, recursive, xetHashes(context, repo));
    if (!listed) return errorAnswer(hubErrors.entryNotFound(split.snapshot.commit));
    entries = expand ? listed.map((entry) => withLastCommit(entry, split.snapshot)) : listed;
  }

  const cursor = context.query.get("cursor");
  const offset = cursor === null ? 0 : decodeCursor(cursor);
  if (offset === undefined) return errorAnswer(hubErrors.badRequest("invalid cursor"));
  const requestedLimit = Number(context.query.get("limit") ?? Number.NaN);
  const pageSize =
    Number.isSafeInteger(requestedLimit) && requestedLimit > 0
      ? Math.min(requestedLimit, context.pageSize)
      : context.pageSize;
  const { page, nextOffset } = paginate(entries, offset, pageSize);
  const headers: Record<string, string> =
    nextOffset === undefined ? {} : { Link: `<${nextPageUrl(context, nextOffset)}>; rel="next"` };
  return jsonAnswer(page, headers);
}

function parsePathsInfoBody(body: Buffer, contentType: string): { paths: string[]; expand: boolean } | string {
  if (contentType.includes("application/x-www-form-urlencoded")) {
    // huggingface_hub posts a form: paths=a&paths=b&expand=True
    const form = new URLSearchParams(body.toString("utf8"));
    return { paths: form.getAll("paths"), expand: isTrue(form.get("expand")) };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    return "body is neither JSON nor a form";
  }
  const { paths, expand } = (typeof parsed === "object" && parsed !== null ? parsed : {}) as {
    paths?: unknown;
    expand?: unknown;
  };
  const list = typeof paths === "string" ? [paths] : paths;
  if (!Array.isArray(list) || !list.every((path) => typeof path === "string"))
    return "'paths' must be a list of strings";
  return { paths: list, expand: expand === true };
}

export async function handlePathsInfo(
  context: HandlerContext,
  contentType: string,
  type: RepoType,
  repoId: string,
  revisionSegments: string[],
): Promise<Answer> {
  if (context.method !== "POST") return errorAnswer(hubErrors.methodNotAllowed(["POST"]));
  const repo = findRepo(context, type, repoId);
  if (isHubError(repo)) return errorAnswer(repo);
  const revision = revisionSegments.join("/");
  const snapshot = resolveRevision(repo, revision);
  if (!snapshot) return errorAnswer(hubErrors.revisionNotFound(revision));
  const request = parsePathsInfoBody(await context.readBody(), contentType);
  if (typeof request === "string") return errorAnswer(hubErrors.badRequest(request));
  const entries: TreeEntryJson[] = [];
  for (const path of request.paths) {
    // Lookups are by exact key in the loaded model, so a hostile path just finds nothing.
    const entry = pathEntry(snapshot, path.replace(/^\/+|\/+$/g, ""), xetHashes(context, repo));
    if (entry) entries.push(request.expand ? withLastCommit(entry, snapshot) : entry);
  }
  return jsonAnswer(entries);
}
