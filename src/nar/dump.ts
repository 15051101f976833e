import { lstat, open, readdir, readlink } from "node:fs/promises";
import type { Stats } from "node:fs";
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

/** Read size for file contents: large enough that per-call overhead vanishes next to sha256. */
const READ_CHUNK_BYTES = 4 * 1024 * 1024;

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
  /** Two buffers so the next read can run while the sink consumes the previous chunk. */
  private readonly buffers: [Buffer, Buffer] = [Buffer.allocUnsafe(0), Buffer.allocUnsafe(0)];

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

  /** Length prefix, the bytes streamed from disk with reads overlapping the sink, padding. */
  private async contents(path: Buffer, size: number): Promise<void> {
    await this.sink.write(narLength(size));
    const handle = await this.fs(path, "open", () => open(path, "r"));
    let pending: Promise<{ bytesRead: number; buffer: Buffer }> | undefined;
    try {
      const chunk = Math.min(READ_CHUNK_BYTES, Math.max(size, 1));
      for (const i of [0, 1] as const) if (this.buffers[i].length < chunk) this.buffers[i] = Buffer.allocUnsafe(chunk);
      const readInto = (buffer: Buffer) => {
        const read = this.fs(path, "read", () => handle.read(buffer, 0, chunk, null));
        // The read may fail while the sink is busy with the previous chunk; mark it handled
        // now so Node does not report an unhandled rejection before the loop awaits it.
        read.catch(() => undefined);
        return read;
      };
      let turn: 0 | 1 = 0;
      let total = 0;
      pending = readInto(this.buffers[turn]);
      for (;;) {
        const { bytesRead, buffer } = await pending;
        pending = undefined;
        if (bytesRead === 0) break;
        total += bytesRead;
        // A NAR states the length before the bytes, so a file that grows or shrinks while
        // it is read would make an archive that lies about itself. Nix refuses too.
        if (total > size) break;
        turn = turn === 0 ? 1 : 0;
        pending = readInto(this.buffers[turn]);
        await this.sink.write(buffer.subarray(0, bytesRead));
      }
      if (total !== size) {
        throw new UserError({
          what: `Cannot hash ${displayPath(this.root)}: ${displayPath(path)} changed size while it was read`,
          cause: `expected ${size} bytes, read ${total}${total > size ? " or more" : ""}`,
          fix: ["hash the tree again once nothing is writing to it"],
        });
      }
    } finally {
      // Never close the handle under a read still in flight (the sink may have thrown).
      await pending?.catch(() => undefined);
      await handle.close();
    }
    await this.sink.write(narPadding(size));
  }

  /** Runs a file system call, turning its failure into a UserError that names the file. */
  private async fs<T>(path: Buffer, action: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof UserError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      const missingRoot = code === "ENOENT" && path.equals(this.root);
      throw new UserError(
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
