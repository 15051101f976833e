import type { SourceAdapter } from "../adapter.js";
import { displayUrl } from "../../util/secrets.js";
import { logger } from "../../util/log.js";
import { resolveGitRepository, type LfsTransfers } from "../git-lfs/adapter.js";
import { explainXetFailure } from "../xet/explain.js";
import { chooseXet } from "../xet/mode.js";
import { xetObjects } from "./xet-objects.js";
import type { GitXetSource } from "./spec.js";

/**
 * `source.git-xet`: a git repository whose LFS objects are stored in Xet. Git objects come as
 * for `source.git-lfs` (a bare repository with exactly the commit, never checked out); the
 * LFS pointers go to the Batch API with the `xet` transfer offered before `basic`. Objects the
 * server answers with `xet` are reconstructed from its Xet storage like the Hugging Face
 * source's Xet files (xet-objects.ts), with the basic transfer as the fallback; objects it
 * answers with `basic` are downloaded as the git-lfs source does.
 */
export const gitXetAdapter: SourceAdapter<GitXetSource> = {
  describe(source) {
    return { source: "git-xet", repo: displayUrl(source.url), rev: source.rev };
  },

  async resolve(source, context) {
    const { mode, note } = chooseXet(context.xet, context.env);
    if (note !== undefined) logger.info(note);
    const transfers: LfsTransfers =
      mode === "off"
        ? { offered: ["basic"] }
        : {
            ...xetObjects({ http: context.http, mode, endpoint: source.xet.endpoint, repo: displayUrl(source.url) }),
            explain: explainXetFailure,
          };
    const resolved = await resolveGitRepository(
      { url: source.url, rev: source.rev, lfsFiles: source.files, lfsFilesOption: "files" },
      context,
      transfers,
    );
    // The URL and the CAS are left out: the commit names the content, on any mirror.
    return { ...resolved, metaSource: { type: source.type, rev: source.rev, files: source.files } };
  },
};
