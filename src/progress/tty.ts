import { humanBytes, humanDuration, safeLine } from "./format.js";
import { ProgressTally } from "./tally.js";
import type { ProgressReporter } from "./types.js";

/**
 * Mode `tty`: one status line on a terminal, redrawn in place at most ten times a
 * second: files done/total, bytes, percentage, rate, ETA and the newest file. Notes
 * (retries) are printed above it. At the end the line becomes a one-line summary.
 */
const REDRAW_INTERVAL_MS = 100;

export interface TtyProgressOptions {
  readonly write: (text: string) => void;
  readonly now: () => number;
  /** Terminal width; the line is cut to fit. */
  readonly columns: () => number;
}

export function ttyProgress({ write, now, columns }: TtyProgressOptions): ProgressReporter {
  const tally = new ProgressTally(now);
  let current = "";
  let lastDrawAt = Number.NEGATIVE_INFINITY;
  let pending: NodeJS.Timeout | undefined;
  let drawn = false;

  const statusLine = () => {
    const total = tally.totalBytes;
    const files = tally.files === undefined ? `${tally.filesDone} files` : `${tally.filesDone}/${tally.files} files`;
    const bytes =
      total === undefined ? humanBytes(tally.received) : `${humanBytes(tally.received)}/${humanBytes(total)}`;
    const percent = total ? ` ${Math.min(100, Math.floor((tally.received / total) * 100))}%` : "";
    const eta = tally.etaSeconds();
    const parts = [
      `${files}  ${bytes}${percent}`,
      `${humanBytes(tally.rate())}/s`,
      eta === undefined ? "" : `ETA ${humanDuration(eta)}`,
      current,
    ].filter(Boolean);
    return safeLine(parts.join("  "));
  };

  const draw = () => {
    if (pending !== undefined) clearTimeout(pending);
    pending = undefined;
    lastDrawAt = now();
    const width = Math.max(20, columns() - 1);
    const line = statusLine();
    write(`\r${line.length > width ? `${line.slice(0, width - 1)}…` : line}\x1b[K`);
    drawn = true;
  };

  const update = () => {
    const wait = REDRAW_INTERVAL_MS - (now() - lastDrawAt);
    if (wait <= 0) draw();
    else if (pending === undefined) {
      pending = setTimeout(draw, wait);
      pending.unref();
    }
  };

  const clear = () => {
    if (pending !== undefined) clearTimeout(pending);
    pending = undefined;
    if (drawn) write("\r\x1b[K");
    drawn = false;
  };

  return {
    begin({ label, files, bytes }) {
      tally.begin(label, files, bytes);
      update();
    },
    fileStarted(path, size) {
      tally.fileStarted(path, size);
      current = path;
      update();
    },
    fileProgress(path, received) {
      tally.fileProgress(path, received);
      update();
    },
    fileRetrying(path, reason) {
      clear();
      write(`${safeLine(`${path}: ${reason}`)}\n`);
      draw();
    },
    fileFinished(path, size) {
      tally.fileFinished(path, size);
      update();
    },
    end({ ok }) {
      clear();
      if (!ok) return;
      const elapsed = tally.elapsedSeconds();
      const rate = elapsed > 0 ? tally.received / elapsed : 0;
      write(
        `${safeLine(
          `downloaded ${tally.label ? `${tally.label}: ` : ""}${tally.filesDone} files, ${humanBytes(tally.received)} ` +
            `in ${humanDuration(elapsed)} (${humanBytes(rate)}/s)`,
        )}\n`,
      );
    },
  };
}
