import type { FileJob } from "./context.js";
import { LowSpeedWatch } from "./low-speed.js";
import type { FileSource, OpenedBody } from "./types.js";

/**
 * One attempt of one stream (a whole file or a ranged part): its own abort signal, which
 * the low-speed watch (low-speed.ts) uses to cut the connection, and the check that the
 * answer is not the same content that already failed its digests (transfer-file.ts).
 * The receiving loop calls `watch.waiting()` before it waits for the network and
 * `watch.received()` for each chunk.
 */
export class Connection {
  readonly signal: AbortSignal;
  readonly watch: LowSpeedWatch;
  readonly #cut = new AbortController();
  readonly #job: FileJob<FileSource>;
  /**
   * The job's abort, passed on to this connection by a listener that close() removes:
   * AbortSignal.any would do the same, but costs more per connection (its dependent-signal
   * bookkeeping and weak references) than a small file's whole write does.
   */
  readonly #passAbortOn = (): void => this.#cut.abort(this.#job.signal.reason);

  constructor(job: FileJob<FileSource>) {
    this.#job = job;
    this.signal = this.#cut.signal;
    if (job.signal.aborted) this.#cut.abort(job.signal.reason);
    else job.signal.addEventListener("abort", this.#passAbortOn, { once: true });
    this.watch = new LowSpeedWatch(job.context.lowSpeed, (failure) => this.#cut.abort(failure));
  }

  /** Checks an answer before its body is read; throws SameContentAgain (see ContentIdentity). */
  opened(opened: OpenedBody): void {
    this.#job.identity.observe(opened.validator);
  }

  /** What the attempt failed with: the low-speed failure when the watch cut the connection. */
  failure(error: unknown): unknown {
    return this.#cut.signal.aborted && !this.#job.signal.aborted ? this.#cut.signal.reason : error;
  }

  close(): void {
    this.watch.stop();
    this.#job.signal.removeEventListener("abort", this.#passAbortOn);
  }
}

/**
 * The validators (OpenedBody.validator) of a file's answers across its downloads. After a
 * download failed its size or digest check, an answer with the validator that download had
 * carries the same bytes: downloading it again would fail the same way, so the second
 * download stops at its first answer instead (SameContentAgain). Without a validator, or
 * with another one (the file changed on the server), the second download goes ahead.
 */
export class ContentIdentity {
  #current: string | undefined;
  #failed: string | undefined;

  observe(validator: string | undefined): void {
    if (validator === undefined) return;
    if (this.#failed !== undefined && validator === this.#failed) throw new SameContentAgain(validator);
    this.#current ??= validator;
  }

  /** The download failed its check: an answer carrying its validator will fail again. */
  downloadFailed(): void {
    this.#failed = this.#current;
    this.#current = undefined;
  }
}

/** The server answers with the same content that already failed its check (ContentIdentity). */
export class SameContentAgain extends Error {
  constructor(readonly validator: string) {
    super(`the server sends the same content again (${validator})`);
    this.name = "SameContentAgain";
  }
}
