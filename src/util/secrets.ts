/**
 * Secrets known to this process (tokens, passwords, signed query strings).
 *
 * Every line the fetcher prints and every error message it builds passes through
 * `redact`, so a secret can only leak if it was never registered. Register a secret
 * the moment it is read (from a token file or the environment), before any use.
 */
const secrets = new Set<string>();

/** Values shorter than this are not treated as secrets: redacting "1" would mangle every message. */
const MIN_SECRET_LENGTH = 4;

export function registerSecret(value: string | undefined | null): void {
  if (value === undefined || value === null) return;
  const trimmed = value.trim();
  if (trimmed.length >= MIN_SECRET_LENGTH) secrets.add(trimmed);
}

export function redact(text: string): string {
  let result = text;
  // Longest first, so a secret that contains another is removed whole.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    result = result.split(secret).join("***");
  }
  return result;
}

/** Drops query and fragment, which may carry signatures (pre-signed CDN and S3 URLs). */
export function displayUrl(url: string | URL): string {
  try {
    const parsed = new URL(url);
    parsed.username = "";
    parsed.password = "";
    const hadQuery = parsed.search !== "";
    parsed.search = "";
    parsed.hash = "";
    return redact(parsed.toString() + (hadQuery ? "?…" : ""));
  } catch {
    return redact(String(url));
  }
}

/** For tests only: forget registered secrets between cases. */
export function clearSecretsForTesting(): void {
  secrets.clear();
}
