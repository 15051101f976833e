import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PlannedFile, ResolvedModel } from "../../model/resolved-model.js";
import type { AdapterContext, SourceAdapter } from "../adapter.js";
import type { HttpClient } from "../../http/client.js";
import type { Credential } from "../../http/settings.js";
import type { ByteSource, FileSource } from "../../transfer/types.js";
import type { ExplainHook } from "../../errors/explain.js";
import { checkRemotePaths } from "../remote-path.js";
import { UserError } from "../../errors/user-error.js";
import { displayUrl } from "../../util/secrets.js";
import { logger } from "../../util/log.js";
import {
  explainBatchFailure,
  requestDownloads,
  type BatchContext,
  type DownloadAction,
  type LfsObjectRequest,
  type LfsTransfer,
} from "./batch.js";
import { gitBlobSource, lfsObjectSource } from "./byte-sources.js";
import { findGitCredentials } from "./credentials.js";
import { checkLfsEndpoint, defaultLfsEndpoint } from "./endpoint.js";
import { createGitRunner, type GitRunner } from "./git.js";
import { compileLfsFilePatterns } from "./patterns.js";
import { MAX_POINTER_BYTES, readPointer, type LfsPointer } from "./pointer.js";
import { fetchCommit, lfsConfigValue, listTree, readBlobs, type TreeEntry } from "./repository.js";
import type { GitLfsSource } from "./spec.js";

/**
 * `source.git-lfs`: `git` fetches exactly the commit into a bare repository in scratch
 * space outside the output (never checked out, never smudged); pointer files are found
 * among the small blobs; the LFS objects come through the Batch API and the shared
 * engine, in parallel, each checked against its pointer's oid (sha256) and size; files
 * stored in git are copied out of the repository by the engine too, checked against
 * their git blob ids. The output is the Hugging Face layout with the real commit
 * (refs/main → rev) and a trees/<commit>.json listing with the real blob ids.
 *
 * Credentials (credentials.ts) go to the clone URL's host only: to git as an
 * http.<origin>/.extraHeader, to the LFS API when it is on that host, to an href only
 * when it is on that host too (or as the server's own Authorization from the action).
 */
export const gitLfsAdapter: SourceAdapter<GitLfsSource> = {
  describe(source) {
    return { source: "git-lfs", repo: displayUrl(source.url), rev: source.rev };
  },

  async resolve(source, context) {
    const resolved = await resolveGitRepository({ ...source, lfsFilesOption: "lfsFiles" }, context, BASIC_TRANSFER);
    // The URL is left out: the commit names the content, on any mirror.
    return { ...resolved, metaSource: { type: source.type, rev: source.rev, lfsFiles: source.lfsFiles } };
  },
};

/** A commit of a git repository whose large files are LFS objects (git-lfs, git-xet). */
export interface GitRepositoryRequest {
  readonly url: string;
  readonly rev: string;
  /** git-lfs include patterns; null = every LFS file. */
  readonly lfsFiles: readonly string[] | null;
  /** The option that holds them, for messages ("lfsFiles" for git-lfs, "files" for git-xet). */
  readonly lfsFilesOption: string;
}

/** The basic transfer's batch context, with our credential for hrefs on trusted hosts. */
export type BasicBatch = BatchContext & { readonly ownCredential: Credential | undefined };

/** How LFS objects are transferred: the transfers offered in the Batch request, and what becomes of a `xet` answer. */
export interface LfsTransfers {
  readonly offered: readonly LfsTransfer[];
  /**
   * For each object the server answered with the `xet` transfer: how to make its files'
   * sources; `basic` reaches the same bytes through the basic transfer (asked for only if used).
   */
  readonly xetObject?: (
    object: LfsObjectRequest,
    action: DownloadAction,
    basic: (path: string) => ByteSource,
    batch: BasicBatch,
  ) => (path: string) => FileSource;
  /** Told which objects the server answered with `basic` although more was offered (e.g. to refuse them). */
  readonly onBasic?: (objects: readonly LfsObjectRequest[]) => void;
  /** Called once every object has a source (for a summary line). */
  readonly planned?: () => void;
  /** The source's words for failures it recognises, asked before the batch API's. */
  readonly explain?: ExplainHook;
}

const BASIC_TRANSFER: LfsTransfers = { offered: ["basic"] };

/**
 * Everything of a git LFS source but its meta: the commit fetched into scratch space, the
 * files planned (git blobs copied out of the repository, LFS objects through the Batch API
 * with `transfers`), the scratch space released when the fetch ends.
 */
export async function resolveGitRepository(
  source: GitRepositoryRequest,
  context: AdapterContext,
  transfers: LfsTransfers,
): Promise<Omit<ResolvedModel, "metaSource">> {
  const cloneUrl = new URL(source.url);
  const repo = displayUrl(cloneUrl);
  const credentials = await findGitCredentials(context.auth, context.env, cloneUrl);
  if (credentials) logger.info(`using the git credentials from ${credentials.origin} for ${cloneUrl.host}`);

  const scratch = await mkdtemp(join(context.env["NIX_BUILD_TOP"] || tmpdir(), "nix-model-repo-git-"));
  const release = () => rm(scratch, { recursive: true, force: true });
  try {
    await mkdir(join(scratch, "home"));
    const git = createGitRunner({
      gitDir: join(scratch, "repo.git"),
      home: join(scratch, "home"),
      env: context.env,
      describe: repo,
      network: { proxy: context.http.settings.proxy, readTimeoutMs: context.http.settings.readTimeoutMs },
      extraHeaders: credentials
        ? [
            {
              urlPrefix: `${cloneUrl.protocol}//${cloneUrl.host}/`,
              header: `Authorization: ${credentials.authorization}`,
            },
          ]
        : [],
    });
    await fetchCommit(git, source.url, source.rev, context.signal);
    const files = await planFiles(git, source, {
      ...context,
      repo,
      credential: credentials ? { authorization: credentials.authorization, hosts: [cloneUrl.host] } : undefined,
      cloneUrl,
      transfers,
    });
    return { commit: source.rev, refs: [], files, resolved: { commit: source.rev }, release };
  } catch (error) {
    await release();
    throw error;
  }
}

interface PlanContext {
  readonly http: HttpClient;
  readonly signal: AbortSignal;
  readonly explainFailuresWith: AdapterContext["explainFailuresWith"];
  readonly repo: string;
  readonly cloneUrl: URL;
  /** Ours, scoped to the clone URL's host. */
  readonly credential: Credential | undefined;
  readonly transfers: LfsTransfers;
}

async function planFiles(git: GitRunner, source: GitRepositoryRequest, context: PlanContext): Promise<PlannedFile[]> {
  const tree = await listTree(git, source.rev, context.signal);
  const blobs: TreeEntry[] = [];
  for (const entry of tree) {
    if (entry.type === "blob" && (entry.mode === "100644" || entry.mode === "100755")) blobs.push(entry);
    else if (entry.mode === "120000")
      logger.warn(
        `${entry.path} is a symbolic link in the repository; it is left out (the output holds regular files only)`,
      );
    else if (entry.type === "commit")
      logger.warn(`${entry.path} is a git submodule; it is left out (submodules are not fetched)`);
  }
  const origin = `commit ${source.rev} of ${context.repo}`;
  checkRemotePaths(
    blobs.map((entry) => entry.path),
    origin,
  );

  // Pointer files are small: read every blob under the limit and keep those that parse.
  const small = blobs.filter((entry) => entry.size > 0 && entry.size < MAX_POINTER_BYTES);
  const contents = await readBlobs(git, [...new Set(small.map((entry) => entry.oid))], context.signal);
  const pointers = new Map<string, LfsPointer>();
  for (const entry of small) {
    const reading = readPointer(contents.get(entry.oid) ?? Buffer.alloc(0));
    if (reading.kind === "pointer") pointers.set(entry.path, reading.pointer);
    if (reading.kind === "invalid") {
      throw new UserError({
        what: `${entry.path} in ${origin} is a broken Git LFS pointer: ${reading.why}`,
        context: { repo: context.repo, rev: source.rev, file: entry.path },
        fix: [
          "The repository is damaged or hostile. Fix the pointer file upstream (git lfs track, then add the file again).",
        ],
      });
    }
  }

  const wanted = compileLfsFilePatterns(source.lfsFiles);
  const lfsFiles = blobs.filter((entry) => pointers.has(entry.path) && wanted(entry.path));
  const skipped = blobs.filter((entry) => pointers.has(entry.path) && !wanted(entry.path)).length;
  if (source.lfsFiles !== null && lfsFiles.length === 0 && pointers.size > 0) {
    throw new UserError({
      what: `No LFS file of ${context.repo} matches the ${source.lfsFilesOption} patterns`,
      context: { rev: source.rev, [source.lfsFilesOption]: JSON.stringify(source.lfsFiles) },
      fix: [
        `Patterns are git-lfs --include patterns (gitignore-style: "*.safetensors" matches at any depth, "onnx/" a folder). The LFS files are: ${[...pointers.keys()].slice(0, 12).join(", ")}`,
      ],
    });
  }
  logger.info(
    `${context.repo} @ ${source.rev.slice(0, 12)}: ${blobs.length - pointers.size} files in git, ${lfsFiles.length} LFS files${skipped > 0 ? ` (${skipped} left out by ${source.lfsFilesOption})` : ""}`,
  );

  const hasLfsConfig = blobs.some((entry) => entry.path === ".lfsconfig");
  const lfsSources = await planLfsSources(git, source, lfsFiles, pointers, { ...context, hasLfsConfig });
  return blobs
    .filter((entry) => !pointers.has(entry.path) || wanted(entry.path))
    .map((entry): PlannedFile => {
      const pointer = pointers.get(entry.path);
      if (pointer) {
        return {
          path: entry.path,
          size: pointer.size,
          expected: { sha256: pointer.oid },
          blobName: pointer.oid,
          source: lfsSources.get(pointer.oid)!(entry.path),
          hubTreeEntry: { size: pointer.size, blobId: entry.oid, lfs: { sha256: pointer.oid, size: pointer.size } },
        };
      }
      return {
        path: entry.path,
        size: entry.size,
        expected: { gitBlobSha1: entry.oid },
        blobName: null,
        source: gitBlobSource(git, entry.oid, entry.path),
        hubTreeEntry: { size: entry.size, blobId: entry.oid },
      };
    });
}

/** Asks the Batch API for every selected object; returns a source maker per oid. */
async function planLfsSources(
  git: GitRunner,
  source: GitRepositoryRequest,
  lfsFiles: readonly TreeEntry[],
  pointers: ReadonlyMap<string, LfsPointer>,
  context: PlanContext & { readonly hasLfsConfig: boolean },
): Promise<Map<string, (path: string) => FileSource>> {
  const makers = new Map<string, (path: string) => FileSource>();
  if (lfsFiles.length === 0) return makers;
  const endpoint = await lfsEndpoint(git, source, context);
  // Our credential goes to the LFS API only on the clone URL's host, and never over a downgrade to http.
  const trusted =
    endpoint.host === context.cloneUrl.host &&
    !(context.cloneUrl.protocol === "https:" && endpoint.protocol === "http:");
  if (context.credential && !trusted)
    logger.warn(
      `the LFS endpoint ${displayUrl(endpoint)} is not on ${context.cloneUrl.host}: no credentials are sent to it`,
    );
  const credential = trusted ? context.credential : undefined;
  const requests: LfsObjectRequest[] = lfsFiles.map((entry) => ({ ...pointers.get(entry.path)!, path: entry.path }));
  const { transfers } = context;
  const batch = {
    http: context.http,
    endpoint,
    credential,
    signal: context.signal,
    repo: context.repo,
    transfers: transfers.offered,
  };
  // A basic href that expires is renewed with the basic transfer alone.
  const basicBatch: BasicBatch = { ...batch, transfers: ["basic"], ownCredential: credential };
  // Before the downloads, the only HTTP calls are batch requests.
  context.explainFailuresWith(
    (failure, scope) =>
      transfers.explain?.(failure, scope) ??
      (scope.file === undefined ? explainBatchFailure(failure, batch) : undefined),
  );
  const actions = await requestDownloads(requests, batch);
  const answeredBasic = requests.filter((request) => actions.get(request.oid)!.transfer === "basic");
  if (transfers.offered.length > 1 && answeredBasic.length > 0) transfers.onBasic?.(answeredBasic);
  for (const request of requests) {
    const action = actions.get(request.oid)!;
    const basic = (path: string) =>
      lfsObjectSource({ ...request, path }, action.transfer === "basic" ? action : undefined, basicBatch);
    makers.set(
      request.oid,
      action.transfer === "xet" && transfers.xetObject
        ? transfers.xetObject(request, action, basic, basicBatch)
        : basic,
    );
  }
  transfers.planned?.();
  return makers;
}

async function lfsEndpoint(
  git: GitRunner,
  source: GitRepositoryRequest,
  context: PlanContext & { readonly hasLfsConfig: boolean },
): Promise<URL> {
  for (const key of context.hasLfsConfig ? ["lfs.url", "remote.origin.lfsurl"] : []) {
    const configured = await lfsConfigValue(git, source.rev, key, context.signal);
    if (configured !== undefined) {
      logger.info(`LFS endpoint from .lfsconfig ${key}: ${displayUrl(configured)}`);
      return checkLfsEndpoint(configured, `.lfsconfig ${key}`);
    }
  }
  return checkLfsEndpoint(defaultLfsEndpoint(source.url), "the clone URL");
}
