import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { isSystemError } from "../../errors/classify.js";
import { DiskFailure } from "../../errors/failures.js";
import type { SpilledChunk, SpilledRange, SpillStore } from "../../xet/index.js";

/**
 * Keeping a Xet range on disk failed: no room in $TMPDIR, no permission there. Only with
 * network.xet = "required" does the file fail (src/sources/xet/explain.ts says what to do);
 * with "auto" it continues through its plain URL.
 */
export class XetSpillFailure extends DiskFailure {
  /** The folder the ranges were kept in. */
  readonly folder: string;

  constructor(path: string, cause: NodeJS.ErrnoException) {
    super(path, cause);
    this.name = "XetSpillFailure";
    this.folder = dirname(path);
    this.message = `cannot keep Xet ranges in ${this.folder}: ${cause.message}`;
  }
}

/** A system call's errno error as an XetSpillFailure naming `path`; anything else as it is. */
function spillCall<T>(path: string, call: () => T): T {
  try {
    return call();
  } catch (error) {
    if (isSystemError(error)) throw new XetSpillFailure(path, error);
    throw error;
  }
}

/**
 * Xet ranges ahead of the writer, kept on disk instead of in memory (src/xet/assembler.ts): a
 * folder in the temp dir (inside Nix, the build's own folder), made at the first chunk, with a
 * file per range, deleted when the range is released; `dispose` removes the folder however the
 * download ended. The calls are synchronous: they go to the page cache a block at a time, and
 * the assembler hands chunks over from a synchronous callback.
 */
export class SpillFolder implements SpillStore {
  #folder: string | undefined;
  #files = 0;
  #disposed = false;

  open(): SpilledRange {
    const name = String(this.#files++);
    return new SpillFile(() => join(this.#folderMade(), name));
  }

  /** Removes the folder and every file left in it. */
  dispose(): void {
    this.#disposed = true;
    if (this.#folder !== undefined) rmSync(this.#folder, { recursive: true, force: true });
    this.#folder = undefined;
  }

  #folderMade(): string {
    if (this.#disposed) throw new Error("internal error: a Xet spill folder used after it was removed");
    const prefix = join(tmpdir(), "nix-model-repo-xet-");
    this.#folder ??= spillCall(`${prefix}XXXXXX`, () => mkdtempSync(prefix));
    return this.#folder;
  }
}

/**
 * Writes and reads go through one buffer each of BLOCK_BYTES, not a system call per chunk
 * (≈ 64 KiB). What `read` returns is a view of the read buffer, valid until the range's next
 * read: all the assembler needs, since it yields a chunk and its reader is done with it before
 * asking for the next. One buffer, not one per read: a gigabyte read back into fresh buffers
 * waited for the garbage collector and raised peak memory by 50 MiB.
 */
const BLOCK_BYTES = 512 * 1024;

class SpillFile implements SpilledRange {
  #fd: number | undefined;
  #path: string | undefined;
  /** Bytes in the file. */
  #flushed = 0;
  /** Chunks written since the last flush, to go at #flushed. */
  #pending: Buffer | undefined;
  #pendingBytes = 0;
  /** The read buffer, and which bytes of the file it holds. */
  #readBuffer: Buffer | undefined;
  #readStart = 0;
  #readBytes = 0;

  constructor(private readonly pathFor: () => string) {}

  write(data: Uint8Array): SpilledChunk {
    const offset = this.#flushed + this.#pendingBytes;
    if (this.#pendingBytes + data.byteLength > BLOCK_BYTES) this.#flush();
    if (data.byteLength >= BLOCK_BYTES) this.#writeAt(data, this.#flushed);
    else {
      this.#pending ??= Buffer.allocUnsafe(BLOCK_BYTES);
      this.#pending.set(data, this.#pendingBytes);
      this.#pendingBytes += data.byteLength;
    }
    return { offset, length: data.byteLength };
  }

  read({ offset, length }: SpilledChunk): Uint8Array {
    if (offset + length > this.#flushed) this.#flush();
    const held = offset - this.#readStart;
    if (this.#readBuffer !== undefined && held >= 0 && held + length <= this.#readBytes)
      return this.#readBuffer.subarray(held, held + length);
    if (this.#readBuffer === undefined || this.#readBuffer.byteLength < length)
      this.#readBuffer = Buffer.allocUnsafe(Math.max(length, BLOCK_BYTES));
    const size = Math.min(this.#readBuffer.byteLength, this.#flushed - offset);
    for (let got = 0; got < size; ) {
      const buffer = this.#readBuffer;
      const count = spillCall(this.#path!, () => readSync(this.#fd!, buffer, got, size - got, offset + got));
      if (count === 0)
        throw new Error(`internal error: the Xet spill file ${this.#path} ends before byte ${offset + size}`);
      got += count;
    }
    this.#readStart = offset;
    this.#readBytes = size;
    return this.#readBuffer.subarray(0, length);
  }

  close(): void {
    this.#pending = undefined;
    this.#readBuffer = undefined;
    if (this.#fd === undefined) return;
    closeSync(this.#fd);
    this.#fd = undefined;
    rmSync(this.#path!, { force: true });
  }

  #flush(): void {
    if (this.#pendingBytes === 0) return;
    this.#writeAt(this.#pending!.subarray(0, this.#pendingBytes), this.#flushed);
    this.#pendingBytes = 0;
  }

  /** Writes `data` at `offset`, which is the end of the file. */
  #writeAt(data: Uint8Array, offset: number): void {
    if (this.#fd === undefined) {
      const path = this.pathFor();
      this.#path = path;
      this.#fd = spillCall(path, () => openSync(path, "wx+", 0o600));
    }
    const fd = this.#fd;
    for (let written = 0; written < data.byteLength; )
      written += spillCall(this.#path!, () =>
        writeSync(fd, data, written, data.byteLength - written, offset + written),
      );
    this.#flushed = offset + data.byteLength;
  }
}
