import { bufferAnswer, errorAnswer, type Answer } from "./answer.js";
import { checkContentAccess } from "./auth.js";
import { cdnErrorBody } from "./cdn.js";
import { findRepo, isHubError, type HandlerContext } from "./context.js";
import { gitBlobOid, lfsPointer } from "./git-objects.js";
import { hubErrors } from "./hub-errors.js";
import { parseRange } from "./range.js";
import { splitRevision } from "./registry.js";
import type { HubRepo, RepoFile, RepoType } from "./types.js";

/**
 * File content: `/{repo}/resolve/{rev}/{path}` (and `raw`), and the CDN path LFS files are
 * redirected to. Headers are what huggingface_hub's HEAD step reads
 * (HH file_download.py::get_hf_file_metadata): X-Repo-Commit, ETag / X-Linked-Etag,
 * Content-Length / X-Linked-Size, Location.
 */

const quoted = (etag: string) => `"${etag}"`;

const XET_FILE_INFO = "application/vnd.xet-fileinfo+json";

/**
 * What the Hub adds for a file stored in Xet (HH utils/_xet.py reads it): the file id, the URL
 * to get a Xet token from, and the CAS reconstruction URL. The bytes still come from resolve
 * for clients that do not speak Xet (the LFS bridge).
 */
function xetHeaders(context: HandlerContext, repo: HubRepo, revision: string, hash: string) {
  const prefix = `${repo.type}s/${repo.id.split("/").map(encodeURIComponent).join("/")}`;
  const links = {
    refreshUrl: `${context.baseUrl}/api/${prefix}/xet-read-token/${encodeURIComponent(revision)}`,
    reconstructionUrl: `${context.baseUrl}/v1/reconstructions/${hash}`,
  };
  return {
    links,
    headers: {
      "X-Xet-Hash": hash,
      Link: `<${links.refreshUrl}>; rel="xet-auth", <${links.reconstructionUrl}>; rel="xet-reconstruction-info"`,
    },
  };
}

/** Content with Range applied: 200, 206 with Content-Range, or 416. */
function contentAnswer(
  context: HandlerContext,
  headers: Record<string, string>,
  size: number,
  body: { path: string } | { data: Buffer },
  commit: string | undefined,
): Answer {
  const range = context.ignoreRange ? { kind: "full" as const } : parseRange(context.range, size);
  if (range.kind === "unsatisfiable") return errorAnswer(hubErrors.rangeNotSatisfiable(size, commit));
  const start = range.kind === "partial" ? range.start : 0;
  const end = range.kind === "partial" ? range.end : size - 1;
  const allHeaders: Record<string, string> = {
    ...headers,
    "Accept-Ranges": "bytes",
    "Content-Length": String(end - start + 1),
    ...(range.kind === "partial" ? { "Content-Range": `bytes ${start}-${end}/${size}` } : {}),
  };
  const status = range.kind === "partial" ? 206 : 200;
  if ("data" in body)
    return { status, headers: allHeaders, body: { kind: "buffer", data: body.data.subarray(start, end + 1) } };
  return { status, headers: allHeaders, body: { kind: "file", path: body.path, expectedSize: size, start, end } };
}

export function handleResolve(
  context: HandlerContext,
  type: RepoType,
  repoId: string,
  raw: boolean,
  revisionAndPath: string[],
): Answer {
  if (context.method !== "GET" && context.method !== "HEAD")
    return errorAnswer(hubErrors.methodNotAllowed(["GET", "HEAD"]));
  const repo = findRepo(context, type, repoId);
  if (isHubError(repo)) return errorAnswer(repo);
  const denied = checkContentAccess(repo, context.caller);
  if (denied) return errorAnswer(denied);
  const split = splitRevision(repo, revisionAndPath);
  if (!split) return errorAnswer(hubErrors.revisionNotFound(revisionAndPath[0] ?? ""));
  const commit = split.snapshot.commit;
  const file = split.snapshot.files.get(split.rest.join("/"));
  if (!file) return errorAnswer(hubErrors.entryNotFound(commit));

  const base: Record<string, string> = {
    "Content-Type": "application/octet-stream",
    "X-Repo-Commit": commit,
  };
  if (raw && file.lfs) {
    // raw serves what git stores: the pointer, whose etag is its git blob id.
    const pointer = Buffer.from(lfsPointer(file.lfs.sha256, file.lfs.size));
    return contentAnswer(
      context,
      { ...base, ETag: quoted(gitBlobOid(pointer)) },
      pointer.length,
      { data: pointer },
      commit,
    );
  }
  const headers: Record<string, string> = { ...base, ETag: quoted(file.etag) };
  if (file.lfs) {
    headers["X-Linked-Etag"] = quoted(file.lfs.sha256);
    headers["X-Linked-Size"] = String(file.lfs.size);
    const xetFile = raw ? undefined : context.xet.service.fileOf(repo, file);
    if (xetFile) {
      const xet = xetHeaders(context, repo, split.revision, xetFile.hash);
      Object.assign(headers, xet.headers);
      // @huggingface/hub asks for this to learn the Xet details without being redirected.
      if (context.accept.includes(XET_FILE_INFO)) {
        const info = { hash: xetFile.hash, ...xet.links, etag: file.lfs.sha256, size: file.size };
        return bufferAnswer(200, { ...headers, "Content-Type": XET_FILE_INFO }, Buffer.from(JSON.stringify(info)));
      }
    }
    if (context.cdn && !raw) {
      const location = context.cdn.signedUrl(repo.type, repo.id, file.lfs.sha256, file.path.split("/").pop()!);
      return bufferAnswer(
        302,
        { ...headers, "Content-Type": "text/plain; charset=utf-8", Location: location },
        Buffer.from(`Found. Redirecting to ${location}`),
      );
    }
  }
  return contentAnswer(context, headers, file.size, { path: file.contentPath }, commit);
}

const lfsIndexes = new WeakMap<HubRepo, Map<string, RepoFile>>();

function findLfsObject(repo: HubRepo, sha256: string): RepoFile | undefined {
  let index = lfsIndexes.get(repo);
  if (!index) {
    index = new Map();
    for (const snapshot of repo.snapshots.values()) {
      for (const file of snapshot.files.values()) if (file.lfs) index.set(file.lfs.sha256, file);
    }
    lfsIndexes.set(repo, index);
  }
  return index.get(sha256);
}

function cdnError(status: number, code: string, message: string): Answer {
  return bufferAnswer(status, { "Content-Type": "application/xml" }, cdnErrorBody(code, message));
}

export function handleCdn(context: HandlerContext, type: RepoType, repoId: string, sha256: string): Answer {
  if (!context.cdn) return errorAnswer(hubErrors.notFound());
  if (context.method !== "GET" && context.method !== "HEAD")
    return cdnError(405, "MethodNotAllowed", "The specified method is not allowed against this resource.");
  if (context.cdnRejectsAuthorization && context.caller.sentCredentials) {
    return cdnError(
      400,
      "InvalidArgument",
      "Only one auth mechanism allowed; only the X-Sig query parameter or the Authorization header should be specified",
    );
  }
  const refused = context.cdn.check(context.pathname, context.query);
  if (refused) return cdnError(403, "AccessDenied", refused);
  const repo = context.registry.get(type, repoId);
  const file = repo ? findLfsObject(repo, sha256) : undefined;
  if (!file?.lfs) return cdnError(404, "NoSuchKey", "The specified key does not exist.");
  const disposition = context.query.get("response-content-disposition");
  const headers: Record<string, string> = {
    "Content-Type": "application/octet-stream",
    ETag: quoted(file.lfs.sha256),
    ...(disposition ? { "Content-Disposition": disposition.replace(/[^\x20-\x7e]/g, "_") } : {}),
  };
  return contentAnswer(context, headers, file.size, { path: file.contentPath }, undefined);
}
