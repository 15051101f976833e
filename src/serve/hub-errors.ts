import type { RepoType } from "./types.js";

/**
 * The errors the Hub answers, with the status codes and texts huggingface_hub and
 * @huggingface/hub dispatch on. Clients read `X-Error-Code` first (HH
 * `utils/_http.py::hf_raise_for_status`), `X-Error-Message` for the text, and the JSON body
 * `{"error": …}` as a fallback.
 */

export type HubErrorCode = "RepoNotFound" | "RevisionNotFound" | "EntryNotFound" | "GatedRepo";

export interface HubError {
  readonly status: number;
  readonly code?: HubErrorCode;
  readonly message: string;
  readonly headers?: Readonly<Record<string, string>>;
}

const HUB_PAGE = "https://huggingface.co";

export const hubErrors = {
  /**
   * The Hub does not reveal whether a repo exists: anonymous callers get 401 for a missing or
   * private repo (HH turns any 401 on a repo URL into RepositoryNotFoundError), callers that
   * sent credentials get 404.
   */
  repoNotFound(sentCredentials: boolean): HubError {
    return { status: sentCredentials ? 404 : 401, code: "RepoNotFound", message: "Repository not found" };
  },
  revisionNotFound(revision: string): HubError {
    return { status: 404, code: "RevisionNotFound", message: `Invalid rev id: ${revision}` };
  },
  /** Carries X-Repo-Commit: huggingface_hub records the miss under .no_exist/<commit>/. */
  entryNotFound(commit: string | undefined): HubError {
    return {
      status: 404,
      code: "EntryNotFound",
      message: "Entry not found",
      ...(commit === undefined ? {} : { headers: { "X-Repo-Commit": commit } }),
    };
  },
  gatedNotAuthenticated(type: RepoType, id: string): HubError {
    return {
      status: 401,
      code: "GatedRepo",
      message: `Access to ${type} ${id} is restricted. You must have access to it and be authenticated to access it. Please log in.`,
    };
  },
  gatedNotAuthorized(type: RepoType, id: string): HubError {
    const page = `${HUB_PAGE}/${type === "model" ? "" : `${type}s/`}${id}`;
    return {
      status: 403,
      code: "GatedRepo",
      message: `Access to ${type} ${id} is restricted and you are not in the authorized list. Visit ${page} to ask for access.`,
    };
  },
  badRequest(reason: string): HubError {
    return { status: 400, message: `Bad request: ${reason}` };
  },
  notFound(): HubError {
    return { status: 404, message: "Not Found" };
  },
  methodNotAllowed(allowed: readonly string[]): HubError {
    return { status: 405, message: "Method not allowed", headers: { Allow: allowed.join(", ") } };
  },
  rangeNotSatisfiable(size: number, commit: string | undefined): HubError {
    return {
      status: 416,
      message: "Range Not Satisfiable",
      headers: { "Content-Range": `bytes */${size}`, ...(commit === undefined ? {} : { "X-Repo-Commit": commit }) },
    };
  },
  internal(): HubError {
    return { status: 500, message: "Internal Error" };
  },
};

/** Headers and body for an error answer. */
export function renderHubError(error: HubError): { status: number; headers: Record<string, string>; body: Buffer } {
  const headers: Record<string, string> = { "Content-Type": "application/json; charset=utf-8", ...error.headers };
  if (error.code) headers["X-Error-Code"] = error.code;
  // Header values must be Latin-1; error texts here are ASCII except echoed revision names.
  headers["X-Error-Message"] = error.message.replace(/[^\x20-\x7e]/g, "?");
  return { status: error.status, headers, body: Buffer.from(JSON.stringify({ error: error.message })) };
}
