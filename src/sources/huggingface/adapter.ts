import { join } from "node:path";
import type { AdapterContext, SourceAdapter } from "../adapter.js";
import type { PlannedFile, ResolvedModel } from "../../model/resolved-model.js";
import { findToken, homePath } from "../../auth/token.js";
import { nothingSelected } from "../nothing-selected.js";
import { checkRemotePaths } from "../remote-path.js";
import { TransferFailure } from "../../errors/failures.js";
import { UserError } from "../../errors/user-error.js";
import { logger } from "../../util/log.js";
import { compileAllowPatterns } from "../../util/fnmatch.js";
import { listTree, pathsInfo, resolveCommit, resolveUrl, type HubRepoRef, type HubTreeFile } from "./hub-api.js";
import { explainHubFailure } from "./hub-errors.js";
import { hubXet, type HubXet } from "./xet.js";
import { explainXetFailure } from "../xet/explain.js";
import type { HuggingFaceSource } from "./spec.js";
import { GIT_OID, SHA256_HEX } from "../../util/hex-ids.js";

export const DEFAULT_ENDPOINT = "https://huggingface.co";

/** huggingface_hub's endpoint rule: the spec, else HF_ENDPOINT, else huggingface.co; no trailing "/". */
export function hubEndpoint(source: HuggingFaceSource, env: NodeJS.ProcessEnv): string {
  return (source.endpoint ?? (env["HF_ENDPOINT"] || DEFAULT_ENDPOINT)).replace(/\/+$/, "");
}

/** huggingface_hub's token file: HF_TOKEN_PATH, else $HF_HOME/token, HF_HOME defaulting to $XDG_CACHE_HOME/huggingface or ~/.cache/huggingface. */
export function hubTokenFiles(env: NodeJS.ProcessEnv): string[] {
  if (env["HF_TOKEN_PATH"]) return [env["HF_TOKEN_PATH"]];
  const home =
    env["HF_HOME"] ||
    (env["XDG_CACHE_HOME"] ? join(env["XDG_CACHE_HOME"], "huggingface") : homePath(env, ".cache", "huggingface"));
  return [join(home, "token")];
}

export const huggingFaceAdapter: SourceAdapter<HuggingFaceSource> = {
  describe(source) {
    return { source: "huggingface", repo: source.repo, revision: source.revision };
  },

  async resolve(source, context) {
    const endpoint = hubEndpoint(source, context.env);
    const token = await findToken({
      auth: context.auth,
      env: context.env,
      standardEnvVars: ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"],
      standardFiles: hubTokenFiles(context.env),
    });
    if (token) logger.info(`using the Hugging Face token from ${token.origin}`);
    const ref: HubRepoRef = {
      endpoint,
      repo: source.repo,
      repoType: source.repoType,
      // The token goes to the Hub's own host only: LFS files redirect to CDNs with signed URLs.
      credential: token ? { authorization: `Bearer ${token.token}`, hosts: [new URL(endpoint).host] } : undefined,
    };
    const pinned = pinnedCommit(context.pinned);
    const hub = { endpoint, repo: source.repo, repoType: source.repoType, revision: source.revision, pinned, token };
    // Every failure of a Hub call is explained; of a download only a refusal (gated repos
    // list their files to anyone and refuse the first download): a missing file is the file's.
    context.explainFailuresWith(
      (failure, scope) =>
        explainXetFailure(failure, scope) ??
        (scope.file === undefined || failure.code === "NMR_AUTH" ? explainHubFailure(failure, hub) : undefined),
    );

    // A revision that is a full commit id needs no /revision call: huggingface_hub's
    // snapshot_download skips its repo_info call for one too (REGEX_COMMIT_HASH). A commit
    // the repo lacks fails at the tree listing (or paths-info), which the Hub answers 404.
    const commit =
      pinned ??
      (GIT_OID.test(source.revision)
        ? source.revision
        : await resolveCommit(context.http, ref, source.revision, context.signal));
    const keep = compileAllowPatterns(source.files);
    // A per-file fetch asks about its own paths only; fetchSelected refuses one the answer leaves out.
    const selected =
      context.wanted === undefined
        ? await listSelected(context, ref, commit, keep, source, token?.origin)
        : await wantedFiles(context, context.wanted, ref, commit, keep);
    if (pinned !== undefined) logger.info(`${source.repo}: commit ${commit}, as the lockfile pins it`);
    else if (source.revision !== commit) logger.info(`${source.repo}: revision ${source.revision} is commit ${commit}`);

    // Only what will be written is checked: a hostile entry the patterns exclude is never used.
    checkRemotePaths(
      selected.map((entry) => entry.path),
      `the Hub's listing of ${source.repo}`,
    );

    const xet = hubXet(selected, ref, commit, context);
    return {
      commit,
      refs: source.revision === commit ? [] : [source.revision],
      files: selected.map((entry) => planFile(entry, ref, commit, context, xet)),
      metaSource: {
        type: source.type,
        repo: source.repo,
        repoType: source.repoType,
        revision: source.revision,
        files: source.files,
      },
      resolved: { commit },
    } satisfies ResolvedModel;
  },
};

/** The files of the tree at `commit` that the spec's `files` patterns select; at least one. */
async function listSelected(
  context: AdapterContext,
  ref: HubRepoRef,
  commit: string,
  keep: (path: string) => boolean,
  source: HuggingFaceSource,
  tokenOrigin: string | undefined,
): Promise<readonly HubTreeFile[]> {
  const { files, listed } = await listTree(context.http, ref, commit, keep, context.signal);
  if (files.length > 0) return files;
  throw nothingSelected({
    noun: "file",
    where: `of ${source.repo} at revision ${source.revision}`,
    context: {
      source: "huggingface",
      repo: source.repo,
      revision: source.revision,
      files: JSON.stringify(source.files),
      token: tokenOrigin ? `from ${tokenOrigin}` : "none (anonymous)",
    },
    patternRule: `Patterns are matched like huggingface_hub's allow_patterns (fnmatch; "*" also matches "/").`,
    available: listed.sample,
    availableCount: listed.count,
    whenEmpty: [],
  });
}

/**
 * The entries of the paths a per-file fetch needs (AdapterContext.wanted), from paths-info;
 * from the tree listing when the endpoint has no paths-info route (a mirror or a proxy that
 * implements only what downloads used to need).
 */
async function wantedFiles(
  context: AdapterContext,
  wanted: readonly string[],
  ref: HubRepoRef,
  commit: string,
  keep: (path: string) => boolean,
): Promise<readonly HubTreeFile[]> {
  try {
    return (await pathsInfo(context.http, ref, commit, wanted, context.signal)).filter((entry) => keep(entry.path));
  } catch (error) {
    if (!lacksPathsInfo(error)) throw error;
    logger.info(
      `${ref.endpoint} does not answer paths-info (HTTP ${error.status}): listing the tree of ${ref.repo} instead`,
    );
    return (await listTree(context.http, ref, commit, keep, context.signal)).files;
  }
}

/** No such route: 404, 405 or 501 without the Hub's own X-Error-Code (RepoNotFound, RevisionNotFound...). */
function lacksPathsInfo(error: unknown): error is TransferFailure {
  return (
    error instanceof TransferFailure &&
    (error.status === 404 || error.status === 405 || error.status === 501) &&
    error.headers["x-error-code"] === undefined
  );
}

/** A lock's commit (docs/lockfile.md): the tree at that commit, wherever the revision points now. */
function pinnedCommit(pinned: AdapterContext["pinned"]): string | undefined {
  const commit = pinned?.["commit"];
  if (commit !== undefined && !GIT_OID.test(commit))
    throw new UserError({ what: `The pinned commit ${JSON.stringify(commit)} is not 40 lowercase hex digits` });
  return commit;
}

function planFile(
  entry: HubTreeFile,
  ref: HubRepoRef,
  commit: string,
  context: AdapterContext,
  xet: HubXet,
): PlannedFile {
  const malformed = (why: string) =>
    new UserError({ what: `The Hub's listing of ${ref.repo} gives ${entry.path} a malformed digest: ${why}` });
  // The blob name comes from the server and becomes a file name: only plain hex is accepted.
  if (entry.lfs) {
    if (!SHA256_HEX.test(entry.lfs.oid))
      throw malformed(`lfs.oid ${JSON.stringify(entry.lfs.oid)} is not 64 lowercase hex digits`);
  } else if (!GIT_OID.test(entry.oid)) {
    throw malformed(`oid ${JSON.stringify(entry.oid)} is not 40 lowercase hex digits`);
  }
  const url = resolveUrl(ref, commit, entry.path);
  return {
    path: entry.path,
    size: entry.size,
    expected: entry.lfs ? { sha256: entry.lfs.oid } : { gitBlobSha1: entry.oid },
    blobName: entry.lfs ? entry.lfs.oid : entry.oid,
    source: xet.sourceFor(
      entry,
      context.http.byteSource(url, { credential: ref.credential, description: `${ref.repo}/${entry.path}` }),
    ),
    hubTreeEntry: {
      size: entry.size,
      blobId: entry.oid,
      ...(entry.lfs ? { lfs: { sha256: entry.lfs.oid, size: entry.lfs.size } } : {}),
    },
  };
}
