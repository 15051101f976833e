import type { HttpClient } from "../../http/client.js";
import type { FileSource } from "../../transfer/types.js";
import { UserError } from "../../errors/user-error.js";
import { logger } from "../../util/log.js";
import type { BasicBatch, LfsTransfers } from "../git-lfs/adapter.js";
import type { DownloadAction } from "../git-lfs/batch.js";
import { CasClient } from "../xet/cas.js";
import { readXetAccess, XetTokens, type XetAccess } from "../xet/tokens.js";
import { xetBudgets, xetFileSource, type XetDownloads, type XetMode } from "../xet/xet-file.js";

/**
 * LFS objects the Batch API answered with the `xet` transfer, as Xet files. What a server
 * answers (xet-core git_xet/, and Hugging Face's LFS endpoint): the action's `href` is the
 * token refresh URL (GET with the git credentials → `{ casUrl, exp, accessToken }`), and its
 * headers carry X-Xet-Cas-Url, X-Xet-Access-Token and X-Xet-Token-Expiration. The Batch reply
 * has no Xet file hash; this project's convention is an `X-Xet-Hash` action header (serve's
 * test LFS server sends it). An object without one — or with an unusable token — comes
 * through the basic transfer ("auto") or fails the fetch ("required").
 *
 * `endpoint` (source.git-xet.xet.endpoint) replaces the CAS URL the server names.
 */
export interface XetObjectsOptions {
  readonly http: HttpClient;
  readonly mode: XetMode;
  readonly endpoint: string | null;
  /** The repository, for messages. */
  readonly repo: string;
}

export function xetObjects(options: XetObjectsOptions): Omit<LfsTransfers, "explain"> {
  let downloads: XetDownloads | undefined;
  const unusable: Array<{ readonly path: string; readonly why: string }> = [];
  const onCas = (access: XetAccess): XetAccess =>
    options.endpoint === null ? access : { ...access, casUrl: options.endpoint.replace(/\/+$/, "") };

  const refuse = (objects: readonly string[], why: string) =>
    new UserError({
      what: `network.xet = "required", but ${objects.length === 1 ? "an LFS object" : `${objects.length} LFS objects`} of ${options.repo} cannot come through Xet: ${why}`,
      context: { source: "git-xet", repo: options.repo, files: objects.slice(0, 5).join(", ") },
      fix: [
        'Use network.xet = "auto" (the default): those files then come through the basic transfer, with the same bytes and hash.',
      ],
      help: "docs/sources/xet.md",
    });

  return {
    offered: ["xet", "basic"],
    onBasic(objects) {
      const paths = objects.map((object) => object.path);
      if (options.mode === "required") throw refuse(paths, "the LFS server chose the basic transfer for them");
      logger.info(`the LFS server of ${options.repo} chose the basic transfer for ${objects.length} LFS objects`);
    },
    xetObject(object, action, basic, batch) {
      const header = (name: string) => Object.entries(action.headers).find(([key]) => key.toLowerCase() === name)?.[1];
      const hash = header("x-xet-hash");
      let access: XetAccess | undefined;
      let why: string | undefined;
      if (hash === undefined || !/^[0-9a-fA-F]{64}$/.test(hash)) why = "no Xet file hash (X-Xet-Hash) in its action";
      else {
        try {
          access = onCas(
            readXetAccess(
              {
                accessToken: header("x-xet-access-token"),
                exp: header("x-xet-token-expiration"),
                casUrl: header("x-xet-cas-url"),
              },
              batch.endpoint,
            ),
          );
        } catch (error) {
          why = (error as Error).message;
        }
      }
      if (access === undefined || hash === undefined) {
        unusable.push({ path: object.path, why: why ?? "no usable Xet action" });
        return basic;
      }
      downloads ??= {
        http: options.http,
        cas: new CasClient(
          options.http,
          new XetTokens((signal) => refreshed(options.http, action, batch, signal).then(onCas), access),
        ),
        mode: options.mode,
        ...xetBudgets(),
        concurrency: options.http.settings.concurrency,
      };
      const shared = downloads;
      return (path: string): FileSource =>
        xetFileSource(
          {
            path,
            fileId: hash.toLowerCase(),
            size: object.size,
            fallback: basic(path),
            fallbackName: "the LFS basic transfer",
          },
          shared,
        );
    },
    planned() {
      if (unusable.length === 0) return;
      const reasons = [...new Set(unusable.map((object) => object.why))].slice(0, 3).join("; ");
      const paths = unusable.map((object) => object.path);
      if (options.mode === "required")
        throw refuse(paths, `the LFS server's xet answer is not usable for them (${reasons})`);
      logger.info(
        `${unusable.length} LFS objects of ${options.repo} come through the basic transfer: the LFS server's xet answer is not usable for them (${reasons})`,
      );
    },
  };
}

/** A new token from the action's refresh URL, with the git credentials (to their own host only). */
async function refreshed(
  http: HttpClient,
  action: DownloadAction,
  batch: BasicBatch,
  signal: AbortSignal,
): Promise<XetAccess> {
  const { body } = await http.getJson<unknown>(action.href, {
    credential: action.credential ?? batch.ownCredential,
    signal,
  });
  return readXetAccess(body, action.href);
}
