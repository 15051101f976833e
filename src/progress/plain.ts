import { humanBytes, humanDuration, safeLine } from "./format.js";
import { ProgressTally } from "./tally.js";
import type { ProgressReporter } from "./types.js";

/**
 * Mode `plain`, for CI logs and anything that is not a terminal: a line when a file
 * starts and when it finishes, a total every ~10 s, a summary at the end. No control
 * characters.
 */
const TOTAL_INTERVAL_MS = 10_000;

export interface PlainProgressOptions {
  readonly write: (text: string) => void;
  readonly now: () => number;
}

export function plainProgress({ write, now }: PlainProgressOptions): ProgressReporter {
  const tally = new ProgressTally(now);
  let lastTotalAt = now();
  let timer: NodeJS.Timeout | undefined;

  const line = (text: string) => write(`${safeLine(text)}\n`);

  const total = () => {
    lastTotalAt = now();
    const size = tally.totalBytes;
    const files =
      tally.files === undefined ? `${tally.filesDone} files done` : `${tally.filesDone}/${tally.files} files`;
    const bytes =
      size === undefined ? humanBytes(tally.received) : `${humanBytes(tally.received)} of ${humanBytes(size)}`;
    const percent = size ? ` (${Math.min(100, Math.floor((tally.received / size) * 100))}%)` : "";
    const eta = tally.etaSeconds();
    line(
      `progress: ${files}, ${bytes}${percent}, ${humanBytes(tally.rate())}/s${eta === undefined ? "" : `, ETA ${humanDuration(eta)}`}`,
    );
  };

  const maybeTotal = () => {
    if (now() - lastTotalAt >= TOTAL_INTERVAL_MS) total();
  };

  const ensureTimer = () => {
    // A stalled download sends no events; the timer still prints the total every 10 s.
    if (timer !== undefined) return;
    timer = setInterval(maybeTotal, TOTAL_INTERVAL_MS / 2);
    timer.unref();
  };

  return {
    begin({ label, files, bytes }) {
      tally.begin(label, files, bytes);
      line(
        `downloading ${label}: ${files} file${files === 1 ? "" : "s"}${bytes === undefined ? "" : `, ${humanBytes(bytes)}`}`,
      );
      ensureTimer();
    },
    fileStarted(path, size) {
      tally.fileStarted(path, size);
      ensureTimer();
      line(`started ${path}${size === undefined ? "" : ` (${humanBytes(size)})`}`);
    },
    fileProgress(path, received) {
      tally.fileProgress(path, received);
      maybeTotal();
    },
    fileRetrying(path, reason) {
      line(`${path}: ${reason}`);
    },
    fileFinished(path, size) {
      tally.fileFinished(path, size);
      const count = tally.files === undefined ? `${tally.filesDone}` : `${tally.filesDone}/${tally.files}`;
      line(`finished ${path} (${humanBytes(size)}; ${count} files)`);
      maybeTotal();
    },
    end({ ok }) {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      const elapsed = tally.elapsedSeconds();
      const rate = elapsed > 0 ? tally.received / elapsed : 0;
      line(
        `${ok ? "downloaded" : "stopped after"} ${tally.filesDone} files, ${humanBytes(tally.received)} ` +
          `in ${humanDuration(elapsed)} (${humanBytes(rate)}/s)`,
      );
    },
  };
}
