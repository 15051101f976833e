import type { Worker } from "node:worker_threads";
import { workerThreads } from "../util/builtins-on-demand.js";
import {
  StreamingDigests,
  hashSpecs,
  type DigestName,
  type DigestSink,
  type FileDigests,
  type HashSpec,
} from "./digests.js";
import type { ExpectedDigests } from "./types.js";

/**
 * Hashing on other threads, so the main thread only moves bytes: sha256 runs at ~1 GB/s
 * with SHA-NI, which made it the largest single cost of a fast download (~1 s per GiB on
 * the event loop, where it also delayed reading the sockets).
 *
 * Bytes reach a thread without a copy: slabs are SharedArrayBuffers (slab-pool.ts); a
 * message carries (buffer, offset, length) and the thread answers "hashed" once it has
 * read them, which is when the slab may be reused. Messages of one port arrive in order,
 * so a file's bytes are hashed in the order they were sent (sha256 is sequential per
 * file; files are spread over the threads).
 *
 * The thread's code is a string evaluated by the Worker: the CLI is one bundled file, and
 * a worker script beside it would be one more file to ship and to find.
 */
const WORKER_SOURCE = `
"use strict";
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const files = new Map();
parentPort.on("message", (message) => {
  const { type, id } = message;
  if (type === "open") {
    files.set(id, message.specs.map((spec) => {
      const hash = createHash(spec.algorithm);
      if (spec.prefix !== undefined) hash.update(spec.prefix);
      return [spec.name, hash];
    }));
  } else if (type === "data") {
    const hashes = files.get(id);
    if (hashes !== undefined) {
      const bytes = new Uint8Array(message.buffer, message.offset, message.length);
      for (const [, hash] of hashes) hash.update(bytes);
    }
    parentPort.postMessage({ type: "hashed", id });
  } else if (type === "finish") {
    const hashes = files.get(id) ?? [];
    files.delete(id);
    const digests = {};
    for (const [name, hash] of hashes) digests[name] = hash.digest("hex");
    parentPort.postMessage({ type: "digests", id, digests });
  } else if (type === "drop") {
    files.delete(id);
  }
});
`;

type FromWorker =
  | { readonly type: "hashed"; readonly id: number }
  | { readonly type: "digests"; readonly id: number; readonly digests: Partial<Record<DigestName, string>> };

interface FileState {
  /** One entry per "data" message not yet answered, oldest first. */
  readonly consumed: (() => void)[];
  /** Given up: forgotten once its last bytes are answered. */
  dropped: boolean;
  result?: { readonly resolve: (digests: FileDigests) => void; readonly reject: (reason: unknown) => void };
}

/** One hashing thread and the files it hashes. */
class HashThread {
  readonly #worker: Worker;
  readonly #files = new Map<number, FileState>();
  #failure: Error | undefined;

  constructor() {
    this.#worker = new (workerThreads().Worker)(WORKER_SOURCE, { eval: true });
    this.#worker.on("message", (message: FromWorker) => this.#receive(message));
    this.#worker.on("error", (error) => this.#fail(error));
    this.#worker.on("exit", (code) => this.#fail(new Error(`the hashing thread exited (code ${code})`)));
  }

  /** Files open on this thread. */
  get load(): number {
    return this.#files.size;
  }

  open(id: number, specs: readonly HashSpec[]): void {
    this.#files.set(id, { consumed: [], dropped: false });
    this.#post({ type: "open", id, specs });
  }

  update(id: number, bytes: Uint8Array, consumed: () => void): void {
    const file = this.#files.get(id);
    if (file === undefined || this.#failure !== undefined) {
      consumed();
      return;
    }
    if (!(bytes.buffer instanceof SharedArrayBuffer)) {
      // Only slabs are shared; anything else is copied into shared memory first.
      const shared = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
      shared.set(bytes);
      this.update(id, shared, consumed);
      return;
    }
    file.consumed.push(consumed);
    this.#post({ type: "data", id, buffer: bytes.buffer, offset: bytes.byteOffset, length: bytes.byteLength });
  }

  result(id: number): Promise<FileDigests> {
    const file = this.#files.get(id);
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (file === undefined || file.result !== undefined) return Promise.reject(new Error(`no file ${id} being hashed`));
    return new Promise<FileDigests>((resolve, reject) => {
      file.result = { resolve, reject };
      this.#post({ type: "finish", id });
    });
  }

  /** Forgets a file; bytes already sent are still answered (so their slabs come back). */
  drop(id: number): void {
    const file = this.#files.get(id);
    if (file === undefined || file.result !== undefined || file.dropped) return;
    file.dropped = true;
    if (file.consumed.length === 0) this.#files.delete(id);
    this.#post({ type: "drop", id });
  }

  async terminate(): Promise<void> {
    this.#failure ??= new Error("the hashing thread was stopped");
    this.#worker.removeAllListeners("exit");
    await this.#worker.terminate();
    this.#fail(this.#failure);
  }

  #post(message: object): void {
    if (this.#failure === undefined) this.#worker.postMessage(message);
  }

  #receive(message: FromWorker): void {
    const file = this.#files.get(message.id);
    if (file === undefined) return;
    if (message.type === "hashed") {
      file.consumed.shift()?.();
      if (file.dropped && file.consumed.length === 0) this.#files.delete(message.id);
      return;
    }
    this.#files.delete(message.id);
    file.result?.resolve({ ...message.digests, sha256: message.digests.sha256 ?? "" });
  }

  /** Nothing more will be answered: hand every slab back and fail every pending result. */
  #fail(error: Error): void {
    this.#failure ??= error;
    for (const file of this.#files.values()) {
      for (const consumed of file.consumed.splice(0)) consumed();
      file.result?.reject(this.#failure);
    }
    this.#files.clear();
  }
}

/**
 * Up to `threads` hashing threads, started on first need and stopped by `close()`;
 * each new file goes to the thread with the fewest files.
 */
export class HashWorkers {
  readonly #maxThreads: number;
  readonly #threads: HashThread[] = [];
  #nextId = 1;
  /** A thread could not be started (resource limits): hash on the main thread instead. */
  #unavailable = false;

  constructor(threads: number) {
    if (!(threads >= 1)) throw new RangeError(`hashing threads must be at least 1, got ${threads}`);
    this.#maxThreads = Math.floor(threads);
  }

  /**
   * Digests for one file, computed on a hashing thread (on this thread if none can be
   * started). Throws like hashSpecs for an uncheckable file.
   */
  digests(expected: ExpectedDigests, size: number | undefined): DigestSink {
    const specs = hashSpecs(expected, size);
    let thread: HashThread;
    try {
      if (this.#unavailable) return new StreamingDigests(expected, size);
      thread = this.#pickThread();
    } catch {
      this.#unavailable = true;
      return new StreamingDigests(expected, size);
    }
    const id = this.#nextId++;
    thread.open(id, specs);
    let finished = false;
    return {
      update: (bytes, consumed = () => undefined) => thread.update(id, bytes, consumed),
      result: () => {
        finished = true;
        return thread.result(id);
      },
      dispose: () => {
        if (!finished) thread.drop(id);
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.#threads.splice(0).map((thread) => thread.terminate()));
  }

  #pickThread(): HashThread {
    const idle = this.#threads.reduce<HashThread | undefined>(
      (best, thread) => (best === undefined || thread.load < best.load ? thread : best),
      undefined,
    );
    if (idle !== undefined && (idle.load === 0 || this.#threads.length >= this.#maxThreads)) return idle;
    const thread = new HashThread();
    this.#threads.push(thread);
    return thread;
  }
}
