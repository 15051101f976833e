/**
 * The `license` fields of a Hugging Face model card's YAML front matter (the metadata the
 * Hub shows and filters by). Only the shapes model cards use are read — `key: value`,
 * quoted values, `key: [a, b]` and block lists — so no YAML library is needed; anything
 * else reads as absent, and the check then looks for a licence file instead.
 */
export interface CardLicense {
  /** Lowercased identifiers from `license:` ("apache-2.0", "other", …). */
  readonly licenses: readonly string[];
  /** `license_name:` (the name Hub cards give a licence declared as "other"). */
  readonly licenseName: string | null;
}

export function readCardLicense(text: string): CardLicense | null {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  if (lines[0]?.trim() !== "---") return null;
  const end = lines.findIndex((line, index) => index > 0 && (line.trim() === "---" || line.trim() === "..."));
  if (end < 0) return null;
  const body = lines.slice(1, end);
  const licenses = listValue(body, "license").map((id) => id.toLowerCase());
  const licenseName = listValue(body, "license_name")[0] ?? null;
  if (licenses.length === 0) return null;
  return { licenses, licenseName };
}

/** A top-level key's value as a list of strings (a scalar is a list of one). */
function listValue(lines: readonly string[], key: string): string[] {
  const at = lines.findIndex((line) => new RegExp(`^${key}\\s*:`).test(line));
  if (at < 0) return [];
  const inline = stripComment(lines[at]!.slice(lines[at]!.indexOf(":") + 1)).trim();
  if (inline.startsWith("[") && inline.endsWith("]")) {
    return inline
      .slice(1, -1)
      .split(",")
      .map(unquote)
      .filter((v) => v !== "");
  }
  if (inline !== "") return [unquote(inline)].filter((v) => v !== "");
  const items: string[] = [];
  for (const line of lines.slice(at + 1)) {
    const item = /^\s*-\s+(.*)$/.exec(line);
    if (item === null) break;
    const value = unquote(stripComment(item[1]!));
    if (value !== "") items.push(value);
  }
  return items;
}

function stripComment(value: string): string {
  const hash = value.search(/\s#/);
  return hash < 0 ? value : value.slice(0, hash);
}

function unquote(value: string): string {
  const trimmed = value.trim();
  const quoted = /^(["'])(.*)\1$/.exec(trimmed);
  return (quoted ? quoted[2]! : trimmed).trim();
}
