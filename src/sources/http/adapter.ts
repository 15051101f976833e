import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AdapterContext, SourceAdapter } from "../adapter.js";
import type { PlannedFile, ResolvedModel } from "../../model/resolved-model.js";
import { findToken, type FoundToken } from "../../auth/token.js";
import type { Credential } from "../../http/settings.js";
import { displayUrl } from "../../util/secrets.js";
import { logger } from "../../util/log.js";
import type { Explanation, FailureScope } from "../../errors/explain.js";
import { type Failure, IntegrityFailure } from "../../errors/failures.js";
import { unpackArchives } from "./archive/unpack.js";
import type { HttpFileSpec, HttpSource } from "./spec.js";

/**
 * `source.url`: each URL is one file, pinned by its sha256, which the engine checks while
 * the bytes arrive (blobs are named by it, so two URLs with the same content download once).
 *
 * A token (auth.tokenFile, else $auth.tokenEnvVar) is sent as `Authorization: Bearer` to
 * each URL's own host only: a redirect to another host (a CDN, a pre-signed bucket URL)
 * goes without it. There is no standard variable for plain HTTP.
 *
 * With unpack = true the archives are downloaded into a scratch directory outside the
 * output and unpacked into it (src/layout/unpacked.ts); the archives are not kept.
 */
export const httpAdapter: SourceAdapter<HttpSource> = {
  describe(source) {
    const first = source.urls[0];
    return {
      source: "url",
      file: source.urls.length === 1 ? first?.filename : `${source.urls.length} files`,
      url: first === undefined ? undefined : displayUrl(first.url),
    };
  },

  async resolve(source, context) {
    const token = await findToken({ auth: context.auth, env: context.env, standardEnvVars: [], standardFiles: [] });
    if (token) logger.info(`using the token from ${token.origin} for each URL's own host`);
    const files = source.urls.map((file) => planFile(file, token, context));
    const model: ResolvedModel = {
      commit: null,
      refs: [],
      files,
      // URLs are left out: they name a mirror, not the content, and may carry signed queries.
      metaSource: {
        type: source.type,
        files: source.urls.map((file) => ({ filename: file.filename, sha256: file.sha256 })),
        unpack: source.unpack,
      },
      resolved: {},
    };
    context.explainFailuresWith((failure, scope) => explainMismatch(failure, scope, source));
    if (!source.unpack) return model;
    // Beside the output, never inside it: Nix's build directory in a build, $TMPDIR otherwise.
    const scratchDir = await mkdtemp(join(context.env["NIX_BUILD_TOP"] || tmpdir(), "nix-model-repo-unpack-"));
    return {
      ...model,
      unpack: { scratchDir, unpack: unpackArchives },
      release: () => rm(scratchDir, { recursive: true, force: true }),
    };
  },
};

function planFile(file: HttpFileSpec, token: FoundToken | null, context: AdapterContext): PlannedFile {
  const url = new URL(file.url);
  const credential: Credential | undefined = token
    ? { authorization: `Bearer ${token.token}`, hosts: [url.host] }
    : undefined;
  return {
    path: file.filename,
    size: undefined,
    expected: file.sha256 === null ? {} : { sha256: file.sha256 },
    blobName: file.sha256,
    source: context.http.byteSource(url, { credential, description: `${file.filename} (${displayUrl(url)})` }),
  };
}

/** A digest mismatch here means the pin and the server disagree: say which way out there is. */
function explainMismatch(failure: Failure, scope: FailureScope, source: HttpSource): Explanation | undefined {
  const pinned = source.urls.find((entry) => entry.filename === scope.file);
  if (!(failure instanceof IntegrityFailure) || pinned === undefined) return undefined;
  return {
    what: `${pinned.filename} does not match the sha256 it is pinned to`,
    context: { source: "url", file: pinned.filename, url: displayUrl(pinned.url) },
    cause: `${failure.message}${(scope.downloads ?? 1) > 1 ? ` (downloaded ${scope.downloads} times)` : ""}`,
    fix: [
      'The server now serves other bytes than the ones pinned (a re-upload, a moved "latest" link), or the sha256 is wrong.',
      `If the change is expected, pin the new content: nix-model-repo prefetch url:${displayUrl(pinned.url)} prints its sha256.`,
      "A proxy or cache between you and the server may alter the file: try without it (network.proxy, https_proxy).",
    ],
  };
}
