import { redact } from "./secrets.js";

/**
 * What the fetcher prints to a terminal or a build log, made safe to print: every
 * registered secret redacted (secrets.ts), and every character that a terminal would
 * obey rather than show made visible.
 *
 * Remote servers choose file names, error messages and header values; printed raw, a name
 * like "\x1b[2J\x1b]0;pwned\x07X.txt" clears the screen and sets the window title, a
 * carriage return overwrites what was printed before, and a bidi override makes one name
 * look like another. So C0 and C1 controls, DEL, the Unicode line and paragraph separators,
 * and the bidi embedding, override and isolate characters are written as escapes
 * ("\x1b", "\u202e"), as `ls -b` and Python's repr do. A tab stays a tab; a newline stays
 * a newline only where the caller says a text may span lines (a message's own structure),
 * never inside a value.
 *
 * The error renderer (src/errors/render.ts), the progress lines (src/progress/format.ts)
 * and the log (log.ts) print through this one function.
 */
const UNPRINTABLE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const UNPRINTABLE_BUT_NEWLINE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function printable(text: string, options: { readonly multiline?: boolean } = {}): string {
  return escapeControls(redact(text), options);
}

/** The escaping of `printable` alone, for text already redacted. */
export function escapeControls(text: string, { multiline = false }: { readonly multiline?: boolean } = {}): string {
  return text.replace(multiline ? UNPRINTABLE_BUT_NEWLINE : UNPRINTABLE, escapeOne);
}

function escapeOne(char: string): string {
  const code = char.charCodeAt(0);
  if (char === "\n") return "\\n";
  if (char === "\r") return "\\r";
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}
