/**
 * The numbers every progress renderer shows: files done of total, bytes received of
 * expected, throughput over the last few seconds and the ETA derived from it.
 */
const RATE_WINDOW_MS = 5_000;

export class ProgressTally {
  label = "";
  files: number | undefined;
  /** From begin(), else the sum of the sizes of the files started so far. */
  #declaredBytes: number | undefined;
  #startedBytes = 0;
  filesDone = 0;
  received = 0;
  readonly #perFile = new Map<string, number>();
  readonly #samples: { readonly at: number; readonly received: number }[] = [];
  readonly startedAt: number;
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
    this.startedAt = now();
  }

  begin(label: string, files: number, bytes: number | undefined): void {
    this.label = label;
    this.files = files;
    this.#declaredBytes = bytes;
  }

  get totalBytes(): number | undefined {
    return this.#declaredBytes ?? (this.#startedBytes > 0 ? this.#startedBytes : undefined);
  }

  fileStarted(path: string, size: number | undefined): void {
    if (!this.#perFile.has(path)) this.#startedBytes += size ?? 0;
    this.#perFile.set(path, this.#perFile.get(path) ?? 0);
  }

  /** Cumulative bytes of one file; may go down when a file starts over. */
  fileProgress(path: string, received: number): void {
    this.received += received - (this.#perFile.get(path) ?? 0);
    this.#perFile.set(path, received);
    this.#sample();
  }

  fileFinished(path: string, size: number): void {
    this.fileProgress(path, size);
    this.filesDone += 1;
  }

  /** Bytes per second over the last few seconds (since the start while younger than that). */
  rate(): number {
    this.#sample();
    const first = this.#samples[0];
    const last = this.#samples[this.#samples.length - 1];
    if (first === undefined || last === undefined || last.at - first.at < 200) {
      const elapsed = this.#now() - this.startedAt;
      return elapsed > 200 ? (this.received / elapsed) * 1000 : 0;
    }
    return ((last.received - first.received) / (last.at - first.at)) * 1000;
  }

  /** Seconds left at the current rate, undefined when unknown. */
  etaSeconds(): number | undefined {
    const total = this.totalBytes;
    const rate = this.rate();
    if (total === undefined || rate <= 0) return undefined;
    return Math.max(0, total - this.received) / rate;
  }

  elapsedSeconds(): number {
    return (this.#now() - this.startedAt) / 1000;
  }

  #sample(): void {
    const at = this.#now();
    const last = this.#samples[this.#samples.length - 1];
    if (last !== undefined && at - last.at < 100) return;
    this.#samples.push({ at, received: this.received });
    while (this.#samples.length > 2 && (this.#samples[0]?.at ?? at) < at - RATE_WINDOW_MS) this.#samples.shift();
  }
}
