import { findToken } from "../auth/token.js";
import type { AuthSpec } from "../spec/auth.js";
import { httpSettingsFrom } from "../fetch/http-settings.js";
import type { FetchSpec } from "../fetch/spec.js";
import { createHttpClient } from "../http/client.js";
import type { ListedFile } from "../lockfile/index.js";
import type { HttpSource } from "../sources/http/spec.js";
import { version } from "../util/version.js";

/**
 * What a plain-HTTP server says about its files without sending them: one HEAD per URL
 * (redirects followed, the token only to the URL's own host, as the url adapter sends
 * it). Content-Length gives the size; an RFC 9530 `Repr-Digest: sha-256=:…:` (or the
 * older `Digest: SHA-256=…`) gives the content's sha256 when the server offers it; the
 * ETag is kept, for a lock that recorded one. A 404 or 410 means the file is gone.
 */
export interface UrlProbe {
  readonly listed: ListedFile | null;
  /** The status that said the file is gone (404, 410). */
  readonly goneStatus: number | null;
}

export async function probeUrls(
  spec: FetchSpec & { readonly source: HttpSource },
  env: NodeJS.ProcessEnv,
): Promise<UrlProbe[]> {
  const http = createHttpClient(httpSettingsFrom(spec.network, `nix-model-repo/${version}`));
  try {
    const token = await tokenFor(spec.auth, env);
    const probes: UrlProbe[] = [];
    for (const file of spec.source.urls) {
      const url = new URL(file.url);
      const response = await http.request(url, {
        method: "HEAD",
        expectStatus: [200, 404, 410],
        credential: token === null ? undefined : { authorization: `Bearer ${token}`, hosts: [url.host] },
      });
      await response.body.dump();
      if (response.status !== 200) {
        probes.push({ listed: null, goneStatus: response.status });
        continue;
      }
      const length = response.headers["content-length"];
      const size = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
      const sha256 = digestOf(response.headers["repr-digest"], response.headers["digest"]);
      const etag = response.headers["etag"];
      probes.push({
        listed: {
          path: file.filename,
          size,
          ...(sha256 === undefined ? {} : { sha256 }),
          ids: etag === undefined ? {} : { etag },
        },
        goneStatus: null,
      });
    }
    return probes;
  } finally {
    await http.close();
  }
}

async function tokenFor(auth: AuthSpec, env: NodeJS.ProcessEnv): Promise<string | null> {
  const found = await findToken({ auth, env, standardEnvVars: [], standardFiles: [] });
  return found?.token ?? null;
}

/** The sha256 a response vouches for, hex; undefined when it gives none (or only other algorithms). */
export function digestOf(reprDigest: string | undefined, digest: string | undefined): string | undefined {
  const structured = reprDigest === undefined ? null : /(?:^|,)\s*sha-256=:([A-Za-z0-9+/]{43}=):/i.exec(reprDigest);
  const legacy = digest === undefined ? null : /(?:^|,)\s*sha-256=([A-Za-z0-9+/]{43}=)/i.exec(digest);
  const base64 = structured?.[1] ?? legacy?.[1];
  return base64 === undefined ? undefined : Buffer.from(base64, "base64").toString("hex");
}
