import { humanBytes, safeLine } from "./format.js";
import { ProgressTally } from "./tally.js";
import type { ProgressReporter } from "./types.js";

/**
 * Mode `nix`: Nix's structured log lines, so `nix build` draws a real progress bar for
 * the download inside a fixed-output derivation.
 *
 * A builder may write lines `@nix <json>` to stderr; Nix parses them
 * (src/libutil/logging.cc, handleJSONLogMessage) instead of logging them. From an
 * untrusted builder it accepts only activities of type actFileTransfer (101), plus
 * `result` lines for activities it accepted, `stop`, `setPhase` and `msg`. This has been
 * so since Nix 2.0 (2017, where 101 was called actDownload) through 2.8 and today; Lix
 * inherits it.
 *
 *   {"action":"start","id":N,"level":L,"type":101,"text":"...","parent":0,"fields":["..."]}
 *   {"action":"result","id":N,"type":105,"fields":[done,expected,running,failed]}  (resProgress)
 *   {"action":"stop","id":N}
 *   {"action":"msg","level":L,"msg":"..."}
 *
 * resProgress must carry exactly four unsigned integers: Nix 2.8's progress bar asserts
 * on the field count and type. The bar sums done/expected over all file-transfer
 * activities into "[x/y MiB DL]" and shows the text of the newest activity, so: one
 * activity for the whole fetch carries the byte counts, and one activity per file
 * (no counts, level talkative so it is not printed as a line) names what is moving.
 */
const LEVEL_INFO = 3;
const LEVEL_TALKATIVE = 4;
const ACT_FILE_TRANSFER = 101;
const RES_PROGRESS = 105;
/** Nix itself samples resProgress at 100 ms; more would only cost log bandwidth. */
const PROGRESS_INTERVAL_MS = 100;

export interface NixProgressOptions {
  /** Writes text as is (stderr in production); each call is one whole line. */
  readonly write: (text: string) => void;
  readonly now: () => number;
}

export function nixProgress({ write, now }: NixProgressOptions): ProgressReporter {
  const tally = new ProgressTally(now);
  const overall = 1;
  let nextId = 2;
  const fileActivities = new Map<string, number>();
  let started = false;
  let lastProgressAt = Number.NEGATIVE_INFINITY;

  const emit = (message: Record<string, unknown>) => write(`@nix ${JSON.stringify(message)}\n`);

  const startOverall = (text: string) => {
    if (started) return;
    started = true;
    emit({
      action: "start",
      id: overall,
      level: LEVEL_INFO,
      type: ACT_FILE_TRANSFER,
      text: safeLine(text),
      parent: 0,
      fields: [safeLine(tally.label)],
    });
  };

  const reportBytes = (force: boolean) => {
    const at = now();
    if (!force && at - lastProgressAt < PROGRESS_INTERVAL_MS) return;
    lastProgressAt = at;
    const done = Math.max(0, Math.floor(tally.received));
    const expected = Math.max(done, Math.floor(tally.totalBytes ?? 0));
    emit({ action: "result", id: overall, type: RES_PROGRESS, fields: [done, expected, 0, 0] });
  };

  const stopFile = (path: string) => {
    const id = fileActivities.get(path);
    if (id === undefined) return;
    fileActivities.delete(path);
    emit({ action: "stop", id });
  };

  return {
    begin({ label, files, bytes }) {
      tally.begin(label, files, bytes);
      const size = bytes === undefined ? "" : `, ${humanBytes(bytes)}`;
      startOverall(`downloading ${label} (${files} file${files === 1 ? "" : "s"}${size})`);
      reportBytes(true);
    },
    fileStarted(path, size) {
      startOverall("downloading");
      tally.fileStarted(path, size);
      stopFile(path);
      const id = nextId++;
      fileActivities.set(path, id);
      emit({
        action: "start",
        id,
        level: LEVEL_TALKATIVE,
        type: ACT_FILE_TRANSFER,
        text: safeLine(`downloading '${path}'`),
        parent: 0,
        fields: [safeLine(path)],
      });
    },
    fileProgress(path, received) {
      tally.fileProgress(path, received);
      reportBytes(false);
    },
    fileRetrying(path, reason) {
      emit({ action: "msg", level: LEVEL_INFO, msg: safeLine(`${path}: ${reason}`) });
    },
    fileFinished(path, size) {
      tally.fileFinished(path, size);
      stopFile(path);
      reportBytes(tally.files !== undefined && tally.filesDone === tally.files);
    },
    // On failure the CLI prints the error itself; here the activities just end.
    end() {
      if (!started) return;
      reportBytes(true);
      for (const path of [...fileActivities.keys()]) stopFile(path);
      emit({ action: "stop", id: overall });
      started = false;
    },
  };
}
