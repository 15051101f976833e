import { printable } from "../util/printable.js";

/**
 * What the lifecycle commands print on stdout. Their strings come from lockfiles, meta
 * files and GC root links anyone could have written, so text goes through printable()
 * (secrets redacted, terminal controls shown as escapes) and JSON escapes, beyond what
 * JSON.stringify does for C0 controls, DEL, C1 controls, line separators and bidi
 * overrides: `--json | cat` on a terminal prints no escape sequence either.
 */
export function printJson(value: unknown): void {
  process.stdout.write(`${safeJson(value)}\n`);
}

export function safeJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Lines of text, each value made printable. */
export function printLines(lines: readonly string[]): void {
  process.stdout.write(lines.map((line) => `${printable(line)}\n`).join(""));
}

/** Columns padded to the widest cell; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const cells = [header, ...rows].map((row) => row.map((cell) => printable(cell)));
  // A loop, not Math.max(...column): a lock entry may have hundreds of thousands of rows,
  // past the arguments one call can take.
  const widths = header.map(() => 0);
  for (const row of cells) {
    for (const [column, cell] of row.entries()) widths[column] = Math.max(widths[column] ?? 0, cell.length);
  }
  return cells.map((row) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join("  ")
      .trimEnd(),
  );
}
