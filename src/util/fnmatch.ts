/**
 * File selection for every source's `files` option (the Hub, S3, ...), with
 * huggingface_hub's `allow_patterns` semantics, so a `files` list means in Nix exactly
 * what it means to `snapshot_download`, whatever the source:
 * - patterns are Python `fnmatch` patterns: `*` and `?` match any character
 *   INCLUDING "/", `[seq]` and `[!seq]` are character classes, everything else is
 *   literal; matching is case-sensitive and covers the whole path;
 * - a pattern ending in "/" selects everything under that folder ("onnx/" = "onnx/*");
 * - a file is kept when any pattern matches; no patterns (null) keeps everything.
 * (huggingface_hub utils/_paths.py filter_repo_objects; CPython Lib/fnmatch.py translate)
 */
export function compileAllowPatterns(patterns: readonly string[] | null): (path: string) => boolean {
  if (patterns === null) return () => true;
  const regexes = patterns.map((pattern) => fnmatchToRegExp(pattern.endsWith("/") ? `${pattern}*` : pattern));
  return (path) => regexes.some((regex) => regex.test(path));
}

/** Translates one fnmatch pattern to an anchored RegExp, as CPython's fnmatch.translate does. */
export function fnmatchToRegExp(pattern: string): RegExp {
  let source = "";
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i++]!;
    if (c === "*") {
      // Consecutive stars are one star.
      while (pattern[i] === "*") i++;
      source += "[\\s\\S]*";
    } else if (c === "?") {
      source += "[\\s\\S]";
    } else if (c === "[") {
      const klass = readCharacterClass(pattern, i);
      if (klass === null) {
        source += "\\[";
      } else {
        source += klass.source;
        i = klass.end;
      }
    } else {
      source += escapeRegExp(c);
    }
  }
  return new RegExp(`^(?:${source})$`, "u");
}

/** Reads `[...]` starting after the "["; null when unterminated (then "[" is literal). */
function readCharacterClass(pattern: string, start: number): { source: string; end: number } | null {
  let j = start;
  if (pattern[j] === "!") j++;
  if (pattern[j] === "]") j++;
  while (j < pattern.length && pattern[j] !== "]") j++;
  if (j >= pattern.length) return null;
  let body = pattern.slice(start, j);
  const negated = body.startsWith("!");
  if (negated) body = body.slice(1);
  // Ranges whose ends are reversed (z-a) match nothing in CPython; drop them the same way.
  const parts: string[] = [];
  let k = 0;
  while (k < body.length) {
    const first = body[k]!;
    if (body[k + 1] === "-" && k + 2 < body.length) {
      const last = body[k + 2]!;
      if (first <= last) parts.push(`${escapeClassChar(first)}-${escapeClassChar(last)}`);
      k += 3;
    } else {
      parts.push(escapeClassChar(first));
      k += 1;
    }
  }
  const inner = parts.join("");
  if (inner === "") return { source: negated ? "[\\s\\S]" : "(?!)", end: j + 1 };
  return { source: `[${negated ? "^" : ""}${inner}]`, end: j + 1 };
}

function escapeRegExp(char: string): string {
  // Only syntax characters: the "u" flag rejects needless escapes such as "\-".
  return /[\\^$.*+?()[\]{}|/]/.test(char) ? `\\${char}` : char;
}

function escapeClassChar(char: string): string {
  return /[\\\]^[-]/.test(char) ? `\\${char}` : char;
}
