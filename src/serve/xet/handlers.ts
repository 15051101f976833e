import { readFile } from "node:fs/promises";
import { isXetHashHex, type ByteRange } from "../../xet/index.js";
import { bufferAnswer, errorAnswer, jsonAnswer, type Answer, type FileSlice } from "../answer.js";
import { checkContentAccess } from "../auth.js";
import { cdnErrorBody } from "../cdn.js";
import { findRepo, isHubError, type HandlerContext } from "../context.js";
import { hubErrors } from "../hub-errors.js";
import { parseRange } from "../range.js";
import { resolveRevision } from "../registry.js";
import type { RepoType } from "../types.js";
import { XORB_FAULTS, corruptXorbBody } from "./faults.js";
import { reconstructionV1, reconstructionV2 } from "./reconstruction-reply.js";
import { XetService } from "./service.js";

/**
 * The Xet endpoints: `xet-read-token` on the Hub API, the CAS reconstruction queries, and the
 * pre-signed xorb reads (xet-core spec/auth.md, api.md, download_protocol.md).
 */

const notXet = () => errorAnswer({ status: 404, message: "This repository is not stored in Xet" });

/** GET /api/{type}s/{repo}/xet-read-token/{rev}: JSON and the same values as headers. */
export function handleXetReadToken(
  context: HandlerContext,
  type: RepoType,
  repoId: string,
  revisionSegments: string[],
): Answer {
  if (context.method !== "GET") return errorAnswer(hubErrors.methodNotAllowed(["GET"]));
  const repo = findRepo(context, type, repoId);
  if (isHubError(repo)) return errorAnswer(repo);
  const denied = checkContentAccess(repo, context.caller);
  if (denied) return errorAnswer(denied);
  const revision = revisionSegments.join("/");
  if (!resolveRevision(repo, revision)) return errorAnswer(hubErrors.revisionNotFound(revision));
  if (!repo.xet) return notXet();
  const { accessToken, exp } = context.xet.service.tokens.issue(XetService.scope(repo));
  const casUrl = context.baseUrl;
  return jsonAnswer(
    { accessToken, exp, casUrl },
    { "X-Xet-Access-Token": accessToken, "X-Xet-Token-Expiration": String(exp), "X-Xet-Cas-Url": casUrl },
  );
}

const casError = (status: number, message: string) => jsonAnswer({ error: message }, {}, status);

/** GET /v{1,2}/reconstructions/{file_id} with `Authorization: Bearer <Xet token>` and an optional Range. */
export async function handleReconstruction(context: HandlerContext, version: 1 | 2, fileId: string): Promise<Answer> {
  if (context.method !== "GET") return errorAnswer(hubErrors.methodNotAllowed(["GET"]));
  const token = context.xet.service.tokens.check(context.authorization);
  if ("refused" in token) return casError(401, token.refused);
  const shown = JSON.stringify(fileId.slice(0, 80));
  if (!isXetHashHex(fileId)) return casError(400, `malformed file id ${shown}: expected 64 lowercase hex digits`);
  const scope = XetService.parseScope(token.repoKey);
  const repo = scope && context.registry.get(scope.type, scope.id);
  const file = repo ? await context.xet.service.fileInRepo(repo, fileId) : undefined;
  if (!file) return casError(404, `no file ${fileId} in ${token.repoKey}`);
  let range: ByteRange | undefined;
  if (context.range !== undefined) {
    const parsed = parseRange(context.range, file.size);
    if (parsed.kind === "unsatisfiable")
      return casError(416, `range starts past the end of the ${file.size}-byte file`);
    if (parsed.kind === "partial") range = { start: parsed.start, end: parsed.end };
  }
  const input = {
    store: context.xet.service.store,
    file,
    range,
    signer: context.xet.service.signer,
    xorbBaseUrl: context.xet.xorbBaseUrl,
    fault: context.xet.fault,
  };
  return jsonAnswer(version === 1 ? reconstructionV1(input) : reconstructionV2(input));
}

function s3Error(status: number, code: string, message: string): Answer {
  return bufferAnswer(status, { "Content-Type": "application/xml" }, cdnErrorBody(code, message));
}

/** GET|HEAD /xorbs/default/{hash}?X-Xet-Signed-Range=…: the signed ranges, one (206) or several (multipart). */
export async function handleXorb(context: HandlerContext, xorbHash: string): Promise<Answer> {
  if (context.method !== "GET" && context.method !== "HEAD") {
    return s3Error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.");
  }
  if (context.cdnRejectsAuthorization && context.authorization !== undefined) {
    return s3Error(
      400,
      "InvalidArgument",
      "Only one auth mechanism allowed; only the signed URL or the Authorization header should be specified",
    );
  }
  const checked = context.xet.service.signer.check(context.pathname, context.query, context.range);
  if ("refused" in checked) return s3Error(403, "AccessDenied", checked.refused);
  const xorb = context.xet.service.store.xorbByHash(xorbHash);
  if (!xorb) return s3Error(404, "NoSuchKey", "The specified key does not exist.");
  const size = xorb.offsets[xorb.offsets.length - 1]!;
  if (checked.ranges.some((range) => range.end >= size)) {
    return bufferAnswer(416, { "Content-Range": `bytes */${size}` }, Buffer.alloc(0));
  }
  const fault = context.xet.fault && XORB_FAULTS.has(context.xet.fault) ? context.xet.fault : undefined;
  const slices = await Promise.all(
    checked.ranges.map(async (range): Promise<FileSlice | { kind: "buffer"; data: Buffer }> => {
      if (!fault) return { kind: "file", path: xorb.path, expectedSize: size, start: range.start, end: range.end };
      const whole = await readFile(xorb.path);
      return { kind: "buffer", data: Buffer.from(corruptXorbBody(whole.subarray(range.start, range.end + 1), fault)) };
    }),
  );
  const headers = { ETag: `"${xorbHash}"`, "Accept-Ranges": "bytes" };
  if (slices.length === 1) {
    const [range] = checked.ranges;
    return {
      status: 206,
      headers: {
        ...headers,
        "Content-Type": "application/octet-stream",
        "Content-Range": `bytes ${range!.start}-${range!.end}/${size}`,
        "Content-Length": String(range!.end - range!.start + 1),
      },
      body: slices[0]!,
    };
  }
  const boundary = `xet-${xorbHash.slice(0, 16)}`;
  const parts: Array<FileSlice | { kind: "buffer"; data: Buffer }> = [];
  checked.ranges.forEach((range, index) => {
    const head = `${index === 0 ? "" : "\r\n"}--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${range.start}-${range.end}/${size}\r\n\r\n`;
    parts.push({ kind: "buffer", data: Buffer.from(head) }, slices[index]!);
  });
  parts.push({ kind: "buffer", data: Buffer.from(`\r\n--${boundary}--\r\n`) });
  const length = parts.reduce(
    (sum, part) => sum + (part.kind === "buffer" ? part.data.length : part.end - part.start + 1),
    0,
  );
  return {
    status: 206,
    headers: {
      ...headers,
      "Content-Type": `multipart/byteranges; boundary=${boundary}`,
      "Content-Length": String(length),
    },
    body: { kind: "parts", parts },
  };
}
