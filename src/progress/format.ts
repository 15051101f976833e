import { printable } from "../util/printable.js";

export { humanBytes } from "../util/units.js";

/** 83.4 → "1m23s"; 3725 → "1h02m". */
export function humanDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/**
 * Every progress line passes through here: a URL's query string (which may be a
 * signature) is cut, whoever built the message, then the line goes through printable():
 * secrets redacted, control characters of remote names shown as escapes, one line.
 */
export function safeLine(text: string): string {
  return printable(text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s?#"'<>]*)\?(?!…)[^\s"'<>]*/gi, "$1?…"));
}
