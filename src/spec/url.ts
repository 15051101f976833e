import { invalid } from "./fields.js";

/**
 * The check every source applies to a URL from the spec (endpoint, tracking URI, clone
 * URL, file URL): an absolute http(s) URL without credentials. Credentials in a URL would
 * be written into the .drv and the store, so such a URL is refused and never echoed.
 */
export interface HttpUrlRules {
  /** A correct example for the message: "https://huggingface.co". */
  readonly example: string;
  /** Where credentials come from instead, for the message: "auth.tokenFile or HF_TOKEN". */
  readonly credentialsFrom: string;
  /** Why other schemes are not accepted, when there is more to say than "http(s) only". */
  readonly schemeNote?: string;
  /** File URLs may carry a signed query; endpoints and base URLs may not. */
  readonly allowQuery?: boolean;
}

export function checkHttpUrl(text: string, where: string, rules: HttpUrlRules): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid(where, `must be an absolute URL like ${rules.example}`, text);
  }
  if (url.username || url.password) {
    throw invalid(
      where,
      `must not contain credentials: they would be written into the .drv; use ${rules.credentialsFrom}`,
      "<URL with credentials>",
    );
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw invalid(where, `must be an http(s) URL${rules.schemeNote ? ` (${rules.schemeNote})` : ""}`, text);
  }
  if (!rules.allowQuery && (url.search || url.hash)) throw invalid(where, "must not have a query or fragment", text);
  return url;
}
