import { mkdir, open, rename, rm, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { DiskFailure } from "../errors/failures.js";

/**
 * The file being written: `<destination>.incomplete`, renamed onto the destination only
 * once verified, removed on any failure. Writes are positional, so ranged parts can land
 * in any order. Nothing is ever written anywhere else.
 *
 * The file is created when the first connection for it opens, not when the transfer is
 * queued: a thousand queued files must not hold a thousand descriptors. A file system
 * error (no space, no permission) is thrown as a DiskFailure naming the file.
 */
export class IncompleteFile {
  readonly path: string;
  readonly destination: string;
  readonly #directories: Directories;
  #handle: Promise<FileHandle> | undefined;
  #closed = false;

  constructor(destination: string, directories: Directories = new Directories()) {
    this.destination = destination;
    this.path = `${destination}.incomplete`;
    this.#directories = directories;
  }

  /** Creates (or truncates: a leftover from a crashed run is not trusted) the file; idempotent. */
  open(): Promise<FileHandle> {
    if (this.#closed) return Promise.reject(new Error(`${this.path} is already closed`));
    this.#handle ??= this.#directories
      .ensure(dirname(this.destination))
      .then(() => open(this.path, "w"))
      .catch((error: unknown) => this.#fail(error));
    return this.#handle;
  }

  async write(chunk: Uint8Array, position: number): Promise<void> {
    const handle = await this.open();
    let offset = 0;
    try {
      while (offset < chunk.byteLength) {
        const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset, position + offset);
        offset += bytesWritten;
      }
    } catch (error) {
      this.#fail(error);
    }
  }

  /** Back to empty, for a server that ignored Range and sent the whole file again. */
  async truncate(): Promise<void> {
    const handle = await this.open();
    await handle.truncate(0).catch((error: unknown) => this.#fail(error));
  }

  /** Closes and renames onto the destination (an empty file if nothing was written). */
  async commit(): Promise<void> {
    const handle = await this.open();
    this.#closed = true;
    try {
      await handle.close();
      await rename(this.path, this.destination);
    } catch (error) {
      this.#fail(error);
    }
  }

  /** Closes and removes; never throws (cleanup must not hide the real error). */
  async discard(): Promise<void> {
    const handle = this.#handle;
    this.#closed = true;
    if (handle === undefined) return;
    await handle.then((opened) => opened.close()).catch(() => undefined);
    await rm(this.path, { force: true }).catch(() => undefined);
  }

  #fail(error: unknown): never {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    // An errno of the file system (ENOSPC, EACCES...), named after the file; anything else as it is.
    if (error instanceof Error && typeof code === "string" && /^E[A-Z]+$/.test(code)) {
      throw new DiskFailure(this.path, error as NodeJS.ErrnoException);
    }
    throw error;
  }
}

/**
 * The directories one transfer has created, so that a thousand files in one folder cost
 * one mkdir, not a thousand (each a round trip through libuv's thread pool).
 */
export class Directories {
  readonly #made = new Map<string, Promise<void>>();

  ensure(directory: string): Promise<void> {
    let made = this.#made.get(directory);
    if (made === undefined) {
      made = mkdir(directory, { recursive: true }).then(() => undefined);
      // A failure (EACCES, ENOSPC) is not remembered: the next file asks again.
      made.catch(() => this.#made.delete(directory));
      this.#made.set(directory, made);
    }
    return made;
  }
}
