import { type ModelMeta, archiveResolvedKey } from "../../model/meta.js";
import { UserError } from "../../errors/user-error.js";
import { storeName, type PrefetchScheme, type PrefetchTarget } from "../prefetch-target.js";
import { checkFileUrl, filenameFromUrl } from "./spec.js";

/**
 * `url:https://host/path/file` (any http(s) URL after `url:`). The sha256 is not known
 * before the download, so the spec leaves it null and `complete` writes the sha256 the
 * fetch found into the expression. --unpack unpacks a .tar, .tar.gz/.tgz or .zip.
 */
export const httpPrefetch: PrefetchScheme = {
  prefixes: ["url"],
  example: "url:https://host/path/model.safetensors [--unpack]",
  parse(rest, flags) {
    try {
      checkFileUrl(rest, "the url: target");
    } catch (error) {
      throw new UserError(
        {
          what: `Cannot read the URL target 'url:${rest}'`,
          cause: (error as Error).message,
          fix: ["Write it as url:https://host/path/file."],
        },
        { exitCode: 2 },
      );
    }
    const filename = filenameFromUrl(rest, "the url: target");
    const unpack = flags.unpack === true;
    const source = { type: "url", urls: [{ url: rest, sha256: null, filename }], unpack };
    return {
      source,
      // The same rule as the Nix library's default name: "bert.tar.gz" → "bert", "model.safetensors" → "model".
      defaultName: storeName(
        /^(.+)\.tar\.gz$/i.exec(filename)?.[1] ?? /^(.+)\.[A-Za-z0-9]+$/.exec(filename)?.[1] ?? filename,
      ),
      nixAttribute: "url",
      nixValue: { urls: [{ url: rest, sha256: null }], ...(unpack ? { unpack: true } : {}) },
    };
  },
  complete(target, meta) {
    return withSha256(target, meta);
  },
};

/** Fills each URL's sha256 from what the fetch found: the file's own, or the archive's for unpacked sources. */
export function withSha256(target: PrefetchTarget, meta: ModelMeta): PrefetchTarget {
  const source = target.source as { urls: { url: string; sha256: string | null; filename: string }[]; unpack: boolean };
  const digestOf = (filename: string): string | null =>
    source.unpack
      ? (meta.resolved[archiveResolvedKey(filename)] ?? null)
      : (meta.files.find((file) => file.path === filename)?.sha256 ?? null);
  const urls = source.urls.map((entry) => ({ ...entry, sha256: entry.sha256 ?? digestOf(entry.filename) }));
  return {
    ...target,
    source: { ...source, urls },
    nixValue: { ...target.nixValue, urls: urls.map((entry) => ({ url: entry.url, sha256: entry.sha256 })) },
  };
}
