import type { IncomingMessage } from "node:http";
import { bufferAnswer, jsonAnswer, type Answer } from "./answer.js";
import type { Fault, FaultRequest } from "./faults.js";
import type { Route } from "./routes.js";

/** Glue between a live request and the fault hook: what the hook is shown, and a canned answer. */

export function faultRequestFor(
  req: IncomingMessage,
  pathname: string,
  query: URLSearchParams,
  route: Route,
  nth: number,
): FaultRequest {
  const common = {
    method: req.method ?? "GET",
    host: req.headers.host ?? "",
    url: req.url ?? "/",
    pathname,
    query,
    hasAuthorization: req.headers.authorization !== undefined,
    range: req.headers.range,
    nth,
  };
  switch (route.kind) {
    case "info":
      return {
        ...common,
        route: "info",
        repo: { type: route.type, id: route.repoId },
        revision: route.revisionSegments?.join("/") ?? "main",
      };
    case "paths-info":
      return {
        ...common,
        route: "paths-info",
        repo: { type: route.type, id: route.repoId },
        revision: route.revisionSegments.join("/"),
      };
    case "tree":
      return {
        ...common,
        route: "tree",
        repo: { type: route.type, id: route.repoId },
        revision: route.revisionAndPath[0],
      };
    case "resolve":
      return {
        ...common,
        route: "resolve",
        repo: { type: route.type, id: route.repoId },
        revision: route.revisionAndPath[0],
        file: route.revisionAndPath.slice(1).join("/"),
      };
    case "cdn":
      return { ...common, route: "cdn", repo: { type: route.type, id: route.repoId }, file: route.sha256 };
    case "xet-token":
      return {
        ...common,
        route: "xet-token",
        repo: { type: route.type, id: route.repoId },
        revision: route.revisionSegments.join("/"),
      };
    case "xet-reconstruction":
      return { ...common, route: "xet-reconstruction", file: route.fileId };
    case "xet-xorb":
      return { ...common, route: "xet-xorb", file: route.xorbHash };
    default:
      return { ...common, route: route.kind };
  }
}

export function faultAnswer(respond: NonNullable<Fault["respond"]>): Answer {
  const { status, headers = {}, body } = respond;
  if (body === undefined) return bufferAnswer(status, { ...headers }, Buffer.alloc(0));
  if (typeof body === "string" || Buffer.isBuffer(body)) {
    return bufferAnswer(status, { "Content-Type": "text/plain; charset=utf-8", ...headers }, Buffer.from(body));
  }
  return jsonAnswer(body, { ...headers }, status);
}
