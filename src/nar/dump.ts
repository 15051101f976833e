import { lstat, readdir, readlink } from "node:fs/promises";
import { closeSync, openSync, read, readSync, type Stats } from "node:fs";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { UserError } from "../errors/user-error.js";
import { NAR_MAGIC, narLength, narPadding, narStrings } from "./format.js";

/**
 * Where the archive goes. `write` may be handed a view into a buffer the dumper reuses for
 * the next read: consume or copy the bytes before returning (or before the returned promise
 * settles). A hash consumes synchronously; a stream adapter copies.
 */
export interface NarSink {
  write(chunk: Uint8Array): void | Promise<void>;
}

/**
 * Read size for the contents of small files, read synchronously. Small enough that the bytes a
 * read copies out of the page cache are still in the core's L2 cache when sha256 reads them
 * (larger reads made the copy cost 0.06 s more per GiB), large enough that the per-call cost
 * vanishes; `nix-hash` reads in 64 KiB.
 */
const READ_CHUNK_BYTES = 128 * 1024;

/**
 * From this size on, a file is read ahead: the next chunk is read on libuv's thread pool
 * while the sink (sha256) digests the one before, so the system time of copying out of the
 * page cache (≈ 0.17 s per GiB) overlaps the hash instead of adding to it. For 1 GiB, against
 * reading in turn: 0.83× the wall time with a core free, 0.89–0.97× right after the file was
 * written (the kernel writing it back on the other core, as after a fetch), 1.03× with the
 * other core busy; 1.13–1.25× the CPU (docs/bench.md, "Fourth round"). A read handed to the
 * pool costs ≈ 25 µs of thread wake-ups, so the chunks are large and small files stay
 * synchronous.
 */
const READ_AHEAD_MIN_BYTES = 8 * 1024 * 1024;
const READ_AHEAD_CHUNK_BYTES = 1024 * 1024;

/** Bytes read between turns of the event loop, so signals (Ctrl-C) and timers still run. */
const YIELD_EVERY_BYTES = 32 * 1024 * 1024;

/**
 * Serialises the file system object at `path` into the sink as a NAR, exactly as
 * `nix-store --dump` does: the root itself is not followed if it is a symlink, names and
 * symlink targets are taken as raw bytes (so non-UTF-8 names hash as Nix hashes them),
 * entries are sorted bytewise, and of all the metadata only the owner's execute bit is kept
 * (Nix tests `st_mode & S_IXUSR`). File contents are streamed, never held whole in memory.
 *
 * Like `nix hash path`, the path is handed to the OS as given: `link/` (trailing slash)
 * names the directory a symlink points to, `link` the symlink itself.
 *
 * Throws UserError if the path is missing, holds a socket, FIFO or device (a NAR cannot
 * represent them), or a file changes size while it is read.
 */
export async function dumpNar(path: string, sink: NarSink): Promise<void> {
  const root = Buffer.from(path, "utf8");
  await sink.write(narStrings(NAR_MAGIC));
  await new NarDumper(root, sink).node(root);
}

class NarDumper {
  /** Reused for every read; the sink consumes each chunk before the next read. */
  private buffer: Buffer = Buffer.allocUnsafe(0);
  /** The two buffers of readAhead, allocated with the first big file. */
  private aheadBuffers: [Buffer, Buffer] | undefined;
  private sinceYield = 0;

  constructor(
    private readonly root: Buffer,
    private readonly sink: NarSink,
  ) {}

  async node(path: Buffer): Promise<void> {
    const stats = await this.fs(path, "read the metadata of", () => lstat(path));
    if (stats.isFile()) {
      const executable = (stats.mode & 0o100) !== 0;
      await this.sink.write(
        executable
          ? narStrings("(", "type", "regular", "executable", "", "contents")
          : narStrings("(", "type", "regular", "contents"),
      );
      await this.contents(path, stats.size);
      await this.sink.write(narStrings(")"));
    } else if (stats.isSymbolicLink()) {
      const target = await this.fs(path, "read the symlink", () => readlink(path, { encoding: "buffer" }));
      await this.sink.write(narStrings("(", "type", "symlink", "target", target, ")"));
    } else if (stats.isDirectory()) {
      await this.sink.write(narStrings("(", "type", "directory"));
      const names = await this.fs(path, "list the directory", () => readdir(path, { encoding: "buffer" }));
      names.sort(Buffer.compare);
      for (const name of names) {
        await this.sink.write(narStrings("entry", "(", "name", name, "node"));
        await this.node(Buffer.concat([path, SLASH, name]));
        await this.sink.write(narStrings(")"));
      }
      await this.sink.write(narStrings(")"));
    } else {
      throw new UserError({
        what: `Cannot hash ${displayPath(this.root)}: ${displayPath(path)} is a ${fileKind(stats)}`,
        cause: "a Nix archive holds only regular files, directories and symlinks",
        fix: [`remove ${displayPath(path)} or move it out of the tree`],
      });
    }
  }

  /** Length prefix, the bytes streamed from disk, padding. */
  private async contents(path: Buffer, size: number): Promise<void> {
    await this.sink.write(narLength(size));
    const fd = await this.fs(path, "open", async () => openSync(path, "r"));
    try {
      const total =
        size >= READ_AHEAD_MIN_BYTES ? await this.readAhead(path, fd, size) : await this.readInTurn(path, fd, size);
      // A NAR states the length before the bytes, so a file that grows or shrinks while it is
      // read would make an archive that lies about itself. Nix refuses too.
      if (total !== size) {
        throw new UserError({
          what: `Cannot hash ${displayPath(this.root)}: ${displayPath(path)} changed size while it was read`,
          cause: `expected ${size} bytes, read ${total}${total > size ? " or more" : ""}`,
          fix: ["hash the tree again once nothing is writing to it"],
        });
      }
    } finally {
      closeSync(fd);
    }
    await this.sink.write(narPadding(size));
  }

  /**
   * Reads the file into the sink with synchronous reads into one buffer; returns the bytes
   * read, stopping as soon as there are more than `size` (the file grew).
   */
  private async readInTurn(path: Buffer, fd: number, size: number): Promise<number> {
    const chunk = Math.min(READ_CHUNK_BYTES, Math.max(size, 1));
    if (this.buffer.length < chunk) this.buffer = Buffer.allocUnsafe(chunk);
    let total = 0;
    for (;;) {
      // Read one more than is left, so a file that grew shows up without another call.
      const bytesRead = this.readSync(path, fd, Math.min(chunk, size - total + 1));
      if (bytesRead === 0) return total;
      total += bytesRead;
      if (total > size) return total;
      const written = this.sink.write(this.buffer.subarray(0, bytesRead));
      if (written !== undefined) await written;
      this.sinceYield += bytesRead;
      if (this.sinceYield >= YIELD_EVERY_BYTES) {
        this.sinceYield = 0;
        await yieldToEventLoop();
      }
    }
  }

  /**
   * Like readInTurn, but the read of the next chunk (into the other of two buffers) is under
   * way while the sink takes the current one. Every read waits for the thread pool, so the
   * event loop turns without an explicit yield.
   */
  private async readAhead(path: Buffer, fd: number, size: number): Promise<number> {
    const buffers = this.readAheadBuffers();
    const lengthAt = (position: number) => Math.min(READ_AHEAD_CHUNK_BYTES, size - position + 1);
    let current = 0;
    let total = 0;
    let pending = this.readAt(path, fd, buffers[current]!, lengthAt(0), 0);
    try {
      for (;;) {
        const bytesRead = await pending;
        if (bytesRead === 0) return total;
        total += bytesRead;
        if (total > size) return total;
        const next = 1 - current;
        // At the offset reached, not where the last read was meant to end: a short read
        // (the file shrank) is followed by one that finds the end.
        pending = this.readAt(path, fd, buffers[next]!, lengthAt(total), total);
        const written = this.sink.write(buffers[current]!.subarray(0, bytesRead));
        if (written !== undefined) await written;
        current = next;
      }
    } finally {
      // The descriptor is closed after this returns: no read may still be using it.
      await pending.catch(() => undefined);
    }
  }

  private readAheadBuffers(): [Buffer, Buffer] {
    this.aheadBuffers ??= [Buffer.allocUnsafe(READ_AHEAD_CHUNK_BYTES), Buffer.allocUnsafe(READ_AHEAD_CHUNK_BYTES)];
    return this.aheadBuffers;
  }

  private readAt(path: Buffer, fd: number, buffer: Buffer, length: number, position: number): Promise<number> {
    const reading = new Promise<number>((resolve, reject) => {
      read(fd, buffer, 0, length, position, (error, bytesRead) =>
        error === null ? resolve(bytesRead) : reject(this.fsError(path, "read", error)),
      );
    });
    // A read ahead may fail while the caller still awaits the sink: handled here so that the
    // rejection is not reported as unhandled; the caller's own await still throws it.
    reading.catch(() => undefined);
    return reading;
  }

  private readSync(path: Buffer, fd: number, length: number): number {
    try {
      return readSync(fd, this.buffer, 0, length, null);
    } catch (error) {
      throw this.fsError(path, "read", error);
    }
  }

  /** Runs a file system call, turning its failure into a UserError that names the file. */
  private async fs<T>(path: Buffer, action: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw this.fsError(path, action, error);
    }
  }

  /** A file system failure as a UserError that names the file. */
  private fsError(path: Buffer, action: string, error: unknown): Error {
    if (error instanceof UserError) return error;
    const code = (error as NodeJS.ErrnoException).code;
    const missingRoot = code === "ENOENT" && path.equals(this.root);
    return new UserError(
      {
        what: missingRoot
          ? `Cannot hash ${displayPath(path)}: no such file or directory`
          : `Cannot hash ${displayPath(this.root)}: failed to ${action} ${displayPath(path)}`,
        cause: error instanceof Error ? error.message : String(error),
        fix: missingRoot ? ["check the path; it must exist (a dangling symlink is fine)"] : [],
      },
      { cause: error },
    );
  }
}

const SLASH = Buffer.from("/");

function fileKind(stats: Stats): string {
  if (stats.isSocket()) return "socket";
  if (stats.isFIFO()) return "FIFO (named pipe)";
  if (stats.isCharacterDevice()) return "character device";
  if (stats.isBlockDevice()) return "block device";
  return "file of an unsupported type";
}

/** A path for messages: UTF-8 when it is, otherwise with the odd bytes escaped as \xNN. */
function displayPath(path: Buffer): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(path);
  } catch {
    return [...path]
      .map((byte) =>
        byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, "0")}`,
      )
      .join("");
  }
}
