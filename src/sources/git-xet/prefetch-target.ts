import { UserError } from "../../errors/user-error.js";
import { gitLfsPrefetch } from "../git-lfs/prefetch-target.js";
import type { PrefetchScheme } from "../prefetch-target.js";

/**
 * `git-xet:https://host/org/repo.git@<commit>`, as git-lfs targets; --files PATTERN selects
 * LFS files (git-lfs --include semantics), --endpoint URL sets xet.endpoint.
 */
export const gitXetPrefetch: PrefetchScheme = {
  prefixes: ["git-xet"],
  example: "git-xet:https://host/org/repo.git@<40-hex commit> [--files PATTERN]... [--endpoint CAS-URL]",
  parse(rest, flags) {
    let lfs: ReturnType<typeof gitLfsPrefetch.parse>;
    try {
      lfs = gitLfsPrefetch.parse(rest, { ...flags, endpoint: undefined });
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      throw new UserError(
        {
          what: `Cannot read the git-xet target 'git-xet:${rest}'`,
          fix: [
            "Write it as git-xet:https://host/org/repo.git@<commit>, with the full 40-hex commit id (git ls-remote https://host/org/repo.git main prints it).",
          ],
        },
        { exitCode: 2 },
      );
    }
    const { url, rev, lfsFiles } = lfs.source as { url: string; rev: string; lfsFiles: string[] | null };
    const endpoint = flags.endpoint ?? null;
    return {
      source: { type: "git-xet", url, rev, files: lfsFiles, xet: { endpoint } },
      defaultName: lfs.defaultName,
      nixAttribute: "git-xet",
      nixValue: { url, rev, ...(lfsFiles ? { files: lfsFiles } : {}), ...(endpoint ? { xet: { endpoint } } : {}) },
    };
  },
};
