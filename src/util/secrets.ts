/**
 * Secrets known to this process (tokens, passwords, signed query strings).
 *
 * Every line the fetcher prints and every error message it builds passes through
 * `redact`, so a secret can only leak if it was never registered. Register a secret
 * the moment it is read (from a token file or the environment), before any use.
 *
 * A server may send a secret back in another form: percent-encoded in a URL it echoes,
 * JSON-escaped in an error body, or base64-encoded inside a Basic credential. Each secret
 * is therefore registered with those forms too (`encodedForms`), and all of them are
 * redacted.
 */
const secrets = new Set<string>();
/** Every registered form, longest first, so a secret that contains another is removed whole. */
let forms: string[] = [];

/** Values shorter than this are not treated as secrets: redacting "1" would mangle every message. */
const MIN_SECRET_LENGTH = 4;
/**
 * A base64 fragment shorter than this is not redacted: it stands for only a few bytes of
 * the secret and would match innocent text.
 */
const MIN_BASE64_FRAGMENT = 8;

export function registerSecret(value: string | undefined | null): void {
  if (value === undefined || value === null) return;
  const trimmed = value.trim();
  if (trimmed.length < MIN_SECRET_LENGTH || secrets.has(trimmed)) return;
  secrets.add(trimmed);
  const all = new Set(forms);
  for (const form of encodedForms(trimmed)) if (form.length >= MIN_SECRET_LENGTH) all.add(form);
  forms = [...all].sort((a, b) => b.length - a.length);
}

export function redact(text: string): string {
  let result = text;
  for (const form of forms) {
    if (result.includes(form)) result = result.split(form).join("***");
  }
  return result;
}

/**
 * The forms a secret takes when something encodes it: itself; percent-encoded as
 * encodeURIComponent does, as forms do (space as "+"), and byte by byte in upper and lower
 * case hex; JSON-escaped, as JSON.stringify does and with every character as \uXXXX; and
 * the part of its base64 (standard and URL-safe) that is the same wherever it sits in the
 * encoded text, for each of the three alignments a base64 encoder can give it.
 */
export function encodedForms(secret: string): string[] {
  const bytes = Buffer.from(secret, "utf8");
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, "0"));
  const forms = [
    secret,
    encodeURIComponent(secret),
    encodeURIComponent(secret).replace(/%20/g, "+"),
    hex.map((pair) => `%${pair.toUpperCase()}`).join(""),
    hex.map((pair) => `%${pair}`).join(""),
    JSON.stringify(secret).slice(1, -1),
    Array.from(
      { length: secret.length },
      (_, index) => `\\u${secret.charCodeAt(index).toString(16).padStart(4, "0")}`,
    ).join(""),
  ];
  for (let offset = 0; offset < 3; offset++) {
    const fragment = alignedBase64(bytes, offset);
    if (fragment.length < MIN_BASE64_FRAGMENT) continue;
    forms.push(fragment, fragment.replace(/\+/g, "-").replace(/\//g, "_"));
  }
  return forms;
}

/**
 * The base64 characters that encode only `bytes` when they start `offset` bytes into a
 * 3-byte group: the groups shared with the bytes before or after depend on those, so they
 * are left out.
 */
function alignedBase64(bytes: Buffer, offset: number): string {
  const groups = Math.floor((offset + bytes.length) / 3);
  const first = offset === 0 ? 0 : 1;
  if (groups <= first) return "";
  const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString("base64");
  return encoded.slice(4 * first, 4 * groups);
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
  forms = [];
}
