import type { FieldReader } from "../../spec/fields.js";
import { checkHttpUrl } from "../../spec/url.js";
import { checkCommit, checkGitUrl } from "../git-lfs/spec.js";

/**
 * `source.git-xet`: one commit of a git repository whose LFS objects are stored in Xet
 * (Hugging Face repos, or any LFS server that answers the Batch API's `xet` transfer).
 * Spec form (docs/spec.md): { "type": "git-xet", "url", "rev", "files", "xet": { "endpoint" } }.
 */
export interface GitXetSource {
  readonly type: "git-xet";
  /** The clone URL, http(s) only. */
  readonly url: string;
  /** A full 40-hex commit (see GitLfsSource.rev). */
  readonly rev: string;
  /** git-lfs include patterns for the LFS files to download, as source.git-lfs.lfsFiles; null = all. */
  readonly files: readonly string[] | null;
  readonly xet: {
    /**
     * The Xet storage (CAS) to use; null = the one the LFS server names (X-Xet-Cas-Url). When
     * set, the fetcher sends the Xet token there instead: a CAS reached under another name.
     */
    readonly endpoint: string | null;
  };
}

export function parseGitXetSource(r: FieldReader): GitXetSource {
  const xet = r.optionalObject("xet");
  const source: GitXetSource = {
    type: "git-xet",
    url: r.string("url"),
    rev: r.string("rev"),
    files: r.optionalStringList("files"),
    xet: { endpoint: xet.optionalString("endpoint") },
  };
  xet.done();
  r.done();
  checkGitUrl(source.url, `${r.where}.url`);
  checkCommit(source.rev, `${r.where}.rev`);
  if (source.xet.endpoint !== null) {
    checkHttpUrl(source.xet.endpoint, `${r.where}.xet.endpoint`, {
      example: "https://cas-server.xethub.hf.co",
      credentialsFrom: "the LFS server's Xet token (nothing to configure)",
    });
  }
  return source;
}
