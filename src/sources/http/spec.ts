import { type FieldReader, invalid } from "../../spec/fields.js";
import { checkHttpUrl } from "../../spec/url.js";
import { checkRemotePath, checkUniquePaths } from "../remote-path.js";
import { UserError } from "../../errors/user-error.js";
import { ARCHIVE_SUFFIXES, archiveKind } from "./archive/kind.js";
import { SHA256_FORMS, parseSha256 } from "./sha256.js";

/**
 * `source.url`: files on plain HTTP(S) servers, each pinned by its sha256, optionally
 * archives to unpack. Spec form (docs/spec.md):
 *   { "type": "url", "urls": [{ "url", "sha256", "filename" }], "unpack": false }
 */
export interface HttpFileSpec {
  readonly url: string;
  /** Lowercase hex. null only from `prefetch`, which reports the sha256 it finds; the Nix library always pins it. */
  readonly sha256: string | null;
  /** The file's path in the snapshot: `filename` as given, else the URL's last path segment. */
  readonly filename: string;
}

export interface HttpSource {
  readonly type: "url";
  readonly urls: readonly HttpFileSpec[];
  /** Unpack every file (each must be a .tar, .tar.gz/.tgz or .zip) into the snapshot instead of keeping it. */
  readonly unpack: boolean;
}

export function parseHttpSource(r: FieldReader): HttpSource {
  const urls = r.objectList("urls", (item) => {
    const url = item.string("url");
    const sha256 = item.optionalString("sha256");
    const filename = item.optionalString("filename");
    checkFileUrl(url, `${item.where}.url`);
    const hex = sha256 === null ? null : parseSha256(sha256);
    if (hex === undefined) throw invalid(`${item.where}.sha256`, `must be ${SHA256_FORMS}`, sha256);
    return { url, sha256: hex, filename: filename ?? filenameFromUrl(url, item.where) };
  });
  const source: HttpSource = { type: "url", urls, unpack: r.boolean("unpack", false) };
  r.done();
  if (urls.length === 0) throw invalid(`${r.where}.urls`, "must list at least one file", []);
  for (const [index, file] of urls.entries()) {
    checkRemotePath(file.filename, `${r.where}.urls[${index}].filename`);
    if (source.unpack && archiveKind(file.filename) === undefined) {
      throw invalid(
        `${r.where}.urls[${index}].filename`,
        `must end in ${ARCHIVE_SUFFIXES.join(", ")} when unpack = true`,
        file.filename,
      );
    }
  }
  // With unpack the archives' names never reach the snapshot, but they are still the downloads' names.
  checkUniquePaths(
    urls.map((file) => file.filename),
    `${r.where}.urls`,
  );
  return source;
}

export function checkFileUrl(text: string, where: string): URL {
  return checkHttpUrl(text, where, {
    example: "https://example.org/model.safetensors",
    credentialsFrom: "auth.tokenFile or auth.tokenEnvVar",
    allowQuery: true,
  });
}

/**
 * The default file name: the URL's last path segment, percent-decoded. A URL that ends
 * in "/" or whose last segment decodes to something that is not a plain name needs
 * an explicit `filename`.
 */
export function filenameFromUrl(text: string, where: string): string {
  const url = new URL(text);
  const segment = url.pathname.split("/").pop() ?? "";
  let decoded: string | undefined;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    decoded = undefined;
  }
  if (decoded === undefined || decoded === "" || decoded === "." || decoded === ".." || /[/\\\0]/.test(decoded)) {
    throw new UserError({
      what: `Invalid fetch spec: ${where}.url has no usable file name in its path, so ${where}.filename is needed`,
      context: { url: text.replace(/\?.*$/, "?…") },
      fix: [
        `Set filename, e.g. { url = "${text.replace(/\?.*$/, "")}"; filename = "model.safetensors"; sha256 = "..."; }`,
      ],
    });
  }
  return decoded;
}
