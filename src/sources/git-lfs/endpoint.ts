import { UserError } from "../../errors/user-error.js";

/**
 * The Git LFS API endpoint of a repository (git-lfs docs/api/server-discovery.md):
 * `lfs.url` from the commit's .lfsconfig, else `remote.origin.lfsurl` from it, else the
 * clone URL + ".git/info/lfs" (no doubled ".git"). Only http(s) endpoints are usable.
 */
export function defaultLfsEndpoint(cloneUrl: string): string {
  const base = cloneUrl.replace(/\/+$/, "");
  return base.endsWith(".git") ? `${base}/info/lfs` : `${base}.git/info/lfs`;
}

export function checkLfsEndpoint(text: string, origin: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UserError({
      what: `The LFS endpoint from ${origin} is not a URL`,
      context: { endpoint: JSON.stringify(text) },
    });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new UserError({
      what: `The LFS endpoint from ${origin} is not an http(s) URL`,
      context: { endpoint: url.protocol },
    });
  }
  if (url.username || url.password) {
    throw new UserError({
      what: `The LFS endpoint from ${origin} carries credentials in its URL, which are not used`,
      fix: ["Give credentials with auth.tokenFile or auth.tokenEnvVar."],
    });
  }
  return url;
}
