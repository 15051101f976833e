import type { HttpClient } from "../../http/client.js";
import type { ByteSource, FileSource } from "../../transfer/types.js";
import { UserError } from "../../errors/user-error.js";
import { logger } from "../../util/log.js";
import { CasClient } from "../xet/cas.js";
import { chooseXet } from "../xet/mode.js";
import { XetTokens } from "../xet/tokens.js";
import { xetBudgets, xetFileSource } from "../xet/xet-file.js";
import type { XetSetting } from "../../spec/network.js";
import { type HubRepoRef, type HubTreeFile, xetReadToken } from "./hub-api.js";

/**
 * Which of a Hub repo's files come through Xet (docs/sources/xet.md): with Xet on, every
 * selected LFS file whose tree entry has a valid `xetHash`, as huggingface_hub chooses
 * (file_download.py: Xet when the file has Xet data, unless HF_HUB_DISABLE_XET). The rest, and
 * every file when Xet is off, come through `resolve` (the bridge). One Xet token, CAS client
 * and buffer budget serve all of them; the token is asked for only when a file needs it.
 */
export interface HubXet {
  /** The file's source: Xet with `bridge` as the fallback, or `bridge` itself. */
  sourceFor(entry: HubTreeFile, bridge: ByteSource): FileSource;
}

export function hubXet(
  selected: readonly HubTreeFile[],
  ref: HubRepoRef,
  commit: string,
  context: { readonly http: HttpClient; readonly env: NodeJS.ProcessEnv; readonly xet: XetSetting },
): HubXet {
  const plain: HubXet = { sourceFor: (_entry, bridge) => bridge };
  const { mode, note } = chooseXet(context.xet, context.env);
  const lfs = selected.filter((entry) => entry.lfs !== undefined && entry.size > 0);
  if (note !== undefined && lfs.length > 0) logger.info(note);
  if (mode === "off") return plain;

  const without = lfs.filter((entry) => entry.xetHash === undefined);
  if (without.length > 0 && mode === "required") {
    throw new UserError({
      what: `network.xet = "required", but the Hub lists no Xet data for ${without.length} of the ${lfs.length} LFS files of ${ref.repo}`,
      context: {
        repo: ref.repo,
        commit,
        endpoint: ref.endpoint,
        files: without
          .slice(0, 5)
          .map((entry) => entry.path)
          .join(", "),
      },
      fix: [
        'Use network.xet = "auto" (the default): files without Xet data then come through resolve, with the same bytes and hash.',
      ],
      help: "docs/sources/xet.md",
    });
  }
  if (without.length === lfs.length) {
    // A repo not stored in Xet: nothing unusual to report.
    if (lfs.length > 0) logger.debug(`no LFS file of ${ref.repo} has Xet data: all come through resolve`);
    return plain;
  }
  if (without.length > 0) {
    logger.info(
      `${without.length} of the ${lfs.length} LFS files of ${ref.repo} have no Xet data in the Hub's listing: they come through resolve`,
    );
  }

  const downloads = {
    http: context.http,
    cas: new CasClient(context.http, new XetTokens((signal) => xetReadToken(context.http, ref, commit, signal))),
    mode,
    ...xetBudgets(),
    concurrency: context.http.settings.concurrency,
  };
  return {
    sourceFor(entry, bridge) {
      if (entry.lfs === undefined || entry.xetHash === undefined || entry.size === 0) return bridge;
      return xetFileSource(
        { path: entry.path, fileId: entry.xetHash, size: entry.size, fallback: bridge, fallbackName: "resolve" },
        downloads,
      );
    },
  };
}
