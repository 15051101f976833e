import { UserError } from "../../errors/user-error.js";
import { storeName, type PrefetchScheme } from "../prefetch-target.js";
import { GIT_OID } from "../../util/hex-ids.js";

/**
 * `git-lfs:https://host/org/repo.git@<commit>`; --files PATTERN selects LFS files
 * (lfsFiles, git-lfs --include semantics). The commit must be the full id: find it
 * with `git ls-remote URL main`.
 */
export const gitLfsPrefetch: PrefetchScheme = {
  prefixes: ["git-lfs"],
  example: "git-lfs:https://host/org/repo.git@<40-hex commit> [--files PATTERN]...",
  parse(rest, flags) {
    const at = rest.lastIndexOf("@");
    const url = at === -1 ? rest : rest.slice(0, at);
    const rev = at === -1 ? "" : rest.slice(at + 1);
    if (url === "" || !GIT_OID.test(rev)) {
      throw new UserError(
        {
          what: `Cannot read the git-lfs target 'git-lfs:${rest}'`,
          fix: [
            "Write it as git-lfs:https://host/org/repo.git@<commit>, with the full 40-hex commit id (git ls-remote https://host/org/repo.git main prints it).",
          ],
        },
        { exitCode: 2 },
      );
    }
    const lfsFiles = flags.files && flags.files.length > 0 ? [...flags.files] : null;
    const name =
      url
        .replace(/\/+$/, "")
        .replace(/\.git$/, "")
        .split("/")
        .pop() ?? "model";
    return {
      source: { type: "git-lfs", url, rev, lfsFiles },
      defaultName: storeName(name),
      nixAttribute: "git-lfs",
      nixValue: { url, rev, ...(lfsFiles ? { lfsFiles } : {}) },
    };
  },
};
