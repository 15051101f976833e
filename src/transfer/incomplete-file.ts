import { mkdir, open, rename, rm, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * The file being written: `<destination>.incomplete`, renamed onto the destination only
 * once verified, removed on any failure. Writes are positional, so ranged parts can land
 * in any order. Nothing is ever written anywhere else.
 *
 * The file is created when the first connection for it opens, not when the transfer is
 * queued: a thousand queued files must not hold a thousand descriptors.
 */
export class IncompleteFile {
  readonly path: string;
  readonly destination: string;
  #handle: Promise<FileHandle> | undefined;
  #closed = false;

  constructor(destination: string) {
    this.destination = destination;
    this.path = `${destination}.incomplete`;
  }

  /** Creates (or truncates: a leftover from a crashed run is not trusted) the file; idempotent. */
  open(): Promise<FileHandle> {
    if (this.#closed) return Promise.reject(new Error(`${this.path} is already closed`));
    this.#handle ??= mkdir(dirname(this.destination), { recursive: true }).then(() => open(this.path, "w"));
    return this.#handle;
  }

  async write(chunk: Uint8Array, position: number): Promise<void> {
    const handle = await this.open();
    let offset = 0;
    while (offset < chunk.byteLength) {
      const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset, position + offset);
      offset += bytesWritten;
    }
  }

  /** Back to empty, for a server that ignored Range and sent the whole file again. */
  async truncate(): Promise<void> {
    await (await this.open()).truncate(0);
  }

  /** Closes and renames onto the destination (an empty file if nothing was written). */
  async commit(): Promise<void> {
    const handle = await this.open();
    this.#closed = true;
    await handle.close();
    await rename(this.path, this.destination);
  }

  /** Closes and removes; never throws (cleanup must not hide the real error). */
  async discard(): Promise<void> {
    const handle = this.#handle;
    this.#closed = true;
    if (handle === undefined) return;
    await handle.then((opened) => opened.close()).catch(() => undefined);
    await rm(this.path, { force: true }).catch(() => undefined);
  }
}

/**
 * Write-behind for one stream of a file: contiguous chunks are gathered into blocks of
 * `blockBytes` and written without waiting, at most `maxInFlight` blocks at a time, so
 * the socket is read while the disk writes. Waiting for every 64 KiB network chunk's
 * write round trip halved loopback throughput.
 *
 * Memory per stream: at most (maxInFlight + 1) × blockBytes.
 */
export class WriteBehind {
  readonly #file: IncompleteFile;
  readonly #blockBytes: number;
  readonly #maxInFlight: number;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #pendingPosition = 0;
  readonly #inFlight: Promise<void>[] = [];
  #failure: unknown;

  constructor(file: IncompleteFile, blockBytes = 512 * 1024, maxInFlight = 2) {
    this.#file = file;
    this.#blockBytes = blockBytes;
    this.#maxInFlight = maxInFlight;
  }

  /** Queues `chunk` for `position`; waits only when too many blocks are being written. */
  async write(chunk: Uint8Array, position: number): Promise<void> {
    this.#throwIfFailed();
    if (this.#pendingBytes > 0 && position !== this.#pendingPosition + this.#pendingBytes) await this.#startBlock();
    if (this.#pendingBytes === 0) this.#pendingPosition = position;
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.byteLength;
    if (this.#pendingBytes >= this.#blockBytes) await this.#startBlock();
  }

  /** Everything queued is on disk (or the first write error is thrown). */
  async flush(): Promise<void> {
    if (this.#pendingBytes > 0) this.#issue();
    while (this.#inFlight.length > 0) await this.#inFlight.shift();
    this.#throwIfFailed();
  }

  async #startBlock(): Promise<void> {
    this.#issue();
    while (this.#inFlight.length > this.#maxInFlight) await this.#inFlight.shift();
    this.#throwIfFailed();
  }

  #issue(): void {
    const block = this.#pending.length === 1 ? this.#pending[0] : Buffer.concat(this.#pending, this.#pendingBytes);
    const position = this.#pendingPosition;
    this.#pending = [];
    this.#pendingBytes = 0;
    if (block === undefined) return;
    this.#inFlight.push(
      this.#file.write(block, position).catch((error: unknown) => {
        this.#failure ??= error;
      }),
    );
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }
}
