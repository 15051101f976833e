import { mkdir, open, rename, rm, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * The file being written: `<destination>.incomplete`, renamed onto the destination only
 * once verified, removed on any failure. Writes are positional, so ranged parts can land
 * in any order. Nothing is ever written anywhere else.
 */
export class IncompleteFile {
  readonly path: string;
  readonly destination: string;
  readonly #handle: FileHandle;
  #closed = false;

  private constructor(destination: string, path: string, handle: FileHandle) {
    this.destination = destination;
    this.path = path;
    this.#handle = handle;
  }

  static async create(destination: string): Promise<IncompleteFile> {
    const path = `${destination}.incomplete`;
    await mkdir(dirname(destination), { recursive: true });
    // "w": create or truncate; a leftover from an earlier crashed run is not trusted.
    return new IncompleteFile(destination, path, await open(path, "w"));
  }

  async write(chunk: Uint8Array, position: number): Promise<void> {
    let offset = 0;
    while (offset < chunk.byteLength) {
      const { bytesWritten } = await this.#handle.write(chunk, offset, chunk.byteLength - offset, position + offset);
      offset += bytesWritten;
    }
  }

  /** Back to empty, for a server that ignored Range and sent the whole file again. */
  async truncate(): Promise<void> {
    await this.#handle.truncate(0);
  }

  /** Closes and renames onto the destination. */
  async commit(): Promise<void> {
    await this.#close();
    await rename(this.path, this.destination);
  }

  /** Closes and removes; never throws (cleanup must not hide the real error). */
  async discard(): Promise<void> {
    await this.#close().catch(() => undefined);
    await rm(this.path, { force: true }).catch(() => undefined);
  }

  async #close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#handle.close();
  }
}
