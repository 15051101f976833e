import { closeSync, fstatSync, openSync, readSync, constants as fsConstants } from "node:fs";
import { LimitError } from "./errors.js";

/**
 * Positioned reads over a file or an in-memory buffer. Synchronous on purpose: the pickle
 * machine asks for a few bytes per opcode, and an await per opcode would cost more than the
 * read. Readers pull only the ranges they need, so a 10 GiB safetensors file costs a header.
 */
export interface RandomAccess {
  readonly size: number;
  /** Returns min(length, size - offset) bytes starting at offset (a view; do not keep it long). */
  read(offset: number, length: number): Uint8Array;
}

/** Bytes read from disk for one file, across every reading and member. */
export class ReadBudget {
  private used = 0;

  constructor(readonly limit: number) {}

  charge(bytes: number): void {
    this.used += bytes;
    if (this.used > this.limit) {
      throw new LimitError("maxBytesRead", `read more than ${this.limit} bytes of this file (maxBytesRead)`);
    }
  }

  get bytesRead(): number {
    return this.used;
  }
}

function clampLength(size: number, offset: number, length: number): number {
  if (offset >= size || length <= 0) return 0;
  return Math.min(length, size - offset);
}

export class BufferAccess implements RandomAccess {
  readonly size: number;

  constructor(private readonly bytes: Uint8Array) {
    this.size = bytes.length;
  }

  read(offset: number, length: number): Uint8Array {
    const n = clampLength(this.size, offset, length);
    return this.bytes.subarray(offset, offset + n);
  }
}

/**
 * The first bytes of something larger that was not kept whole (an archive member inflating past
 * maxInflatedBytes). Reads within the prefix work; a reader that needs more gets a LimitError,
 * so a numeric .npy header is still checked while a truncated pickle is reported.
 */
export class PrefixAccess implements RandomAccess {
  constructor(
    private readonly prefix: Uint8Array,
    readonly size: number,
    private readonly limit: string,
  ) {}

  read(offset: number, length: number): Uint8Array {
    const n = clampLength(this.size, offset, length);
    if (offset + n > this.prefix.length) {
      throw new LimitError(
        this.limit,
        `needs bytes past the first ${this.prefix.length} of ${this.size} (${this.limit})`,
        offset,
      );
    }
    return this.prefix.subarray(offset, offset + n);
  }
}

/** A window [start, start+size) of another source, e.g. a stored zip member. */
export class SliceAccess implements RandomAccess {
  readonly size: number;

  constructor(
    private readonly parent: RandomAccess,
    private readonly start: number,
    size: number,
  ) {
    this.size = Math.max(0, Math.min(size, parent.size - start));
  }

  read(offset: number, length: number): Uint8Array {
    return this.parent.read(this.start + offset, clampLength(this.size, offset, length));
  }
}

export class FileAccess implements RandomAccess {
  readonly size: number;

  private constructor(
    private readonly fd: number,
    size: number,
    private readonly budget: ReadBudget,
  ) {
    this.size = size;
  }

  /**
   * Opens a regular file without following a final symlink swap and without blocking on a
   * FIFO that appeared since the caller's stat (O_NONBLOCK is harmless for regular files).
   */
  static open(path: string, budget: ReadBudget): FileAccess {
    const fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile()) throw new Error(`${path} is not a regular file`);
      return new FileAccess(fd, stat.size, budget);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  read(offset: number, length: number): Uint8Array {
    const n = clampLength(this.size, offset, length);
    if (n === 0) return new Uint8Array(0);
    this.budget.charge(n);
    const buffer = Buffer.allocUnsafe(n);
    let done = 0;
    while (done < n) {
      const got = readSync(this.fd, buffer, done, n - done, offset + done);
      if (got === 0) break; // the file shrank under us: return what exists
      done += got;
    }
    return buffer.subarray(0, done);
  }

  close(): void {
    closeSync(this.fd);
  }
}
