import type { FieldReader } from "../../spec/fields.js";
import { invalid } from "../../spec/fields.js";
import { checkHttpUrl } from "../../spec/url.js";
import { GIT_OID } from "../../util/hex-ids.js";

/**
 * `source.git-lfs`: one commit of a git repository whose large files live in Git LFS
 * (GitHub, GitLab, Gitea, Hugging Face's git endpoint, a self-hosted LFS server).
 * Spec form (docs/spec.md): { "type": "git-lfs", "url", "rev", "lfsFiles" }.
 */
export interface GitLfsSource {
  readonly type: "git-lfs";
  /** The clone URL, http(s) only: the fetcher runs inside a sandbox without ssh keys. */
  readonly url: string;
  /**
   * A full 40-hex commit. Branch and tag names are refused: a fixed-output derivation
   * must name content that cannot move, and a commit is what the output's refs/main
   * records. `nix-model-repo prefetch git-lfs:URL@<commit>` prints the hash for it.
   */
  readonly rev: string;
  /** git-lfs include patterns (gitignore-style, like `git lfs pull --include`); null = every LFS file. */
  readonly lfsFiles: readonly string[] | null;
}

export function parseGitLfsSource(r: FieldReader): GitLfsSource {
  const source: GitLfsSource = {
    type: "git-lfs",
    url: r.string("url"),
    rev: r.string("rev"),
    lfsFiles: r.optionalStringList("lfsFiles"),
  };
  r.done();
  checkGitUrl(source.url, `${r.where}.url`);
  checkCommit(source.rev, `${r.where}.rev`);
  return source;
}

/** A revision a fixed-output fetch can pin: a full commit id (git-lfs and git-xet). */
export function checkCommit(rev: string, where: string): void {
  if (!GIT_OID.test(rev)) {
    throw invalid(
      where,
      "must be a full commit id (40 lowercase hex digits), not a branch or tag: a fixed-output fetch must name content that cannot move",
      rev,
    );
  }
}

export function checkGitUrl(text: string, where: string): URL {
  return checkHttpUrl(text, where, {
    example: "https://github.com/org/model.git",
    credentialsFrom: "auth.tokenFile or auth.tokenEnvVar",
    schemeNote: "ssh and other transports are not available inside a Nix build",
  });
}
