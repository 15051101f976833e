/** Plain-text tables: the first column left-aligned, the others right-aligned. */
export function formatTable(header, rows) {
  const all = [header, ...rows].map((row) => row.map((cell) => String(cell ?? "")));
  const widths = header.map((_, column) => Math.max(...all.map((row) => row[column].length)));
  const line = (row) =>
    row
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column])))
      .join("  ")
      .trimEnd();
  return [line(all[0]), widths.map((width) => "-".repeat(width)).join("  "), ...all.slice(1).map(line)].join("\n");
}

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

export function fixed(value, digits = 2) {
  return Number.isFinite(value) ? value.toFixed(digits) : "-";
}
