import { UserError } from "../../errors/user-error.js";
import { displayUrl } from "../../util/secrets.js";
import { logger } from "../../util/log.js";
import { GitFailure, type GitRunner } from "./git.js";

/**
 * The git side of the git-lfs source: fetch exactly one commit into a bare repository
 * (never checked out: checking out would apply the repo's own .gitattributes eol/ident/
 * filter rules and change bytes), list its tree, and read small blobs to find pointers.
 */
export interface TreeEntry {
  /** Git mode: 100644, 100755, 120000 (symlink), 160000 (submodule). */
  readonly mode: string;
  readonly type: "blob" | "commit" | "tree";
  /** Git object id (the blob's sha1). */
  readonly oid: string;
  /** Bytes of the blob (of the pointer file, for LFS files). */
  readonly size: number;
  readonly path: string;
}

/**
 * Fetches `rev` and nothing else. Asking for a commit by id needs protocol v2 (or
 * uploadpack.allowReachableSHA1InWant), which every current host speaks; an old server
 * that refuses gets a full fetch of its branches and tags, and the commit must be among them.
 */
export async function fetchCommit(git: GitRunner, url: string, rev: string, signal: AbortSignal): Promise<void> {
  await git.run(["init", "--quiet", "--bare"], { signal });
  try {
    await git.run(["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--depth=1", url, rev], { signal });
  } catch (error) {
    if (!(error instanceof GitFailure) || isAuthFailure(error.stderr) || isMissingRepo(error.stderr))
      throw explainFetchFailure(error, url, rev);
    logger.info(`${displayUrl(url)} did not serve commit ${rev} directly; fetching its branches and tags`);
    try {
      await git.run(
        [
          "fetch",
          "--quiet",
          "--no-write-fetch-head",
          url,
          "+refs/heads/*:refs/remotes/origin/*",
          "+refs/tags/*:refs/tags/*",
        ],
        { signal },
      );
    } catch (fallbackError) {
      throw explainFetchFailure(fallbackError, url, rev);
    }
  }
  const type = await git.run(["cat-file", "-t", rev], { signal }).then(
    (out) => out.toString().trim(),
    () => "missing",
  );
  if (type !== "commit") {
    throw new UserError(
      {
        what: `Commit ${rev} is not in ${displayUrl(url)}`,
        context: { url: displayUrl(url), rev, found: type },
        fix: ["Check rev: it must be a full commit id of this repository (git ls-remote URL lists the branch heads)."],
      },
      { code: "NMR_NOT_FOUND" },
    );
  }
}

/** Every file of the commit's tree, recursively, as git stores it (paths as UTF-8). */
export async function listTree(git: GitRunner, rev: string, signal: AbortSignal): Promise<TreeEntry[]> {
  const output = await git.run(["ls-tree", "-r", "-z", "-l", "--full-tree", rev], { signal });
  const entries: TreeEntry[] = [];
  let at = 0;
  while (at < output.length) {
    const end = output.indexOf(0, at);
    const record = output.subarray(at, end === -1 ? output.length : end);
    at = end === -1 ? output.length : end + 1;
    const tab = record.indexOf(0x09);
    const [mode, type, oid, size] = record.subarray(0, tab).toString("latin1").split(/ +/);
    const pathBytes = record.subarray(tab + 1);
    const path = pathBytes.toString("utf8");
    if (!Buffer.from(path, "utf8").equals(pathBytes)) {
      throw new UserError({
        what: `A file name in commit ${rev} is not valid UTF-8`,
        context: { path: JSON.stringify(pathBytes.toString("latin1")) },
      });
    }
    if (mode === undefined || oid === undefined || (type !== "blob" && type !== "commit" && type !== "tree")) {
      throw new Error(`internal error: unexpected git ls-tree output ${JSON.stringify(record.toString("latin1"))}`);
    }
    entries.push({ mode, type, oid, size: size === "-" || size === undefined ? 0 : Number(size), path });
  }
  return entries;
}

/** Reads small blobs with one `git cat-file --batch`. */
export async function readBlobs(
  git: GitRunner,
  oids: readonly string[],
  signal: AbortSignal,
): Promise<Map<string, Buffer>> {
  const result = new Map<string, Buffer>();
  if (oids.length === 0) return result;
  const output = await git.run(["cat-file", "--batch"], { input: `${oids.join("\n")}\n`, signal });
  let at = 0;
  while (at < output.length) {
    const newline = output.indexOf(0x0a, at);
    const [oid, type, size] = output.subarray(at, newline).toString("latin1").split(" ");
    if (oid === undefined || type === "missing" || size === undefined)
      throw new Error(`internal error: git cat-file --batch: ${output.subarray(at, newline).toString("latin1")}`);
    const start = newline + 1;
    result.set(oid, output.subarray(start, start + Number(size)));
    at = start + Number(size) + 1;
  }
  return result;
}

/** The value of `key` in the repo's .lfsconfig at `rev` (git-config syntax, read by git itself). */
export async function lfsConfigValue(
  git: GitRunner,
  rev: string,
  key: string,
  signal: AbortSignal,
): Promise<string | undefined> {
  try {
    const value = (await git.run(["config", "--blob", `${rev}:.lfsconfig`, "--get", key], { signal }))
      .toString("utf8")
      .trim();
    return value === "" ? undefined : value;
  } catch (error) {
    // Exit 1: the key is not set.
    if (error instanceof GitFailure && error.code === 1) return undefined;
    throw error;
  }
}

function isAuthFailure(stderr: string): boolean {
  return /Authentication failed|could not read Username|terminal prompts disabled|HTTP 401|HTTP 403|returned error: 40[13]/i.test(
    stderr,
  );
}

function isMissingRepo(stderr: string): boolean {
  return /repository .* not found|returned error: 404|HTTP 404|does not appear to be a git repository/i.test(stderr);
}

function explainFetchFailure(error: unknown, url: string, rev: string): unknown {
  if (!(error instanceof GitFailure)) return error;
  const auth = isAuthFailure(error.stderr);
  const missing = isMissingRepo(error.stderr);
  return new UserError(
    {
      what: auth
        ? `${displayUrl(url)} refused access to the repository`
        : missing
          ? `${displayUrl(url)} has no git repository`
          : `Cannot fetch commit ${rev} from ${displayUrl(url)}`,
      context: { url: displayUrl(url), rev },
      cause:
        error.stderr
          .split("\n")
          .filter((line) => line.trim() !== "")
          .slice(-4)
          .join(" | ") || error.message,
      fix: auth
        ? [
            'Give a token: auth.tokenFile = "/run/secrets/git-token"; or auth.tokenEnvVar = "GIT_TOKEN"; (the variable must be in the Nix daemon\'s environment).',
            "A plain token is sent as HTTP Basic with the user name x-access-token; write user:token in the file or variable to choose the user name.",
          ]
        : missing
          ? ["Check url: it is the repository's https clone URL."]
          : ["Check that rev is a commit of this repository and that the server is reachable."],
    },
    // A repository that is not there is "gone" to `verify`, like a 404 from any other source.
    { cause: error, ...(missing ? { code: "NMR_NOT_FOUND" as const } : {}) },
  );
}
