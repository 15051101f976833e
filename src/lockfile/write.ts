import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { UserError } from "../errors/user-error.js";
import { canonicalJson, compareBytes } from "../util/canonical-json.js";
import { checkLockFile, lockDocument, readLockFile } from "./read.js";
import type { LockEntry, LockFile } from "./types.js";

/**
 * Writing a lockfile: deterministic bytes (sorted keys, files sorted by path, two-space
 * indent, a trailing newline: the one serialisation of src/util/canonical-json.ts), so
 * a diff in review shows only what changed; and atomic, so a reader — Nix evaluating
 * fromLock, another command, an editor — sees the old file or the new one, never half of
 * one, whatever happens to this process.
 */

/** The lockfile's exact bytes. The lock is checked first: nothing this module would refuse to read is written. */
export function serializeLockFile(lock: LockFile, file = "the lockfile"): string {
  const sorted = {
    lockVersion: lock.lockVersion,
    models: Object.fromEntries(
      Object.keys(lock.models)
        .sort(compareBytes)
        .map((name) => [name, sortEntry(lock.models[name]!)]),
    ),
  };
  const text = canonicalJson(sorted);
  checkLockFile(JSON.parse(text), lockDocument(file));
  return text;
}

function sortEntry(entry: LockEntry): LockEntry {
  return { ...entry, files: [...entry.files].sort((a, b) => compareBytes(a.path, b.path)) };
}

/**
 * Writes `<file>` atomically: the bytes go to a temporary file beside it, are flushed to
 * disk, and the temporary file is renamed over the lockfile (rename is atomic within a
 * directory); the directory is flushed so the rename survives a crash. On any failure the
 * temporary file is removed and the old lockfile is untouched.
 */
export async function writeLockFile(file: string, lock: LockFile): Promise<void> {
  const text = serializeLockFile(lock, file);
  const temporary = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    const handle = await open(temporary, "wx", 0o644);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new UserError({
      what: `Could not write the lockfile ${file}`,
      cause: (error as NodeJS.ErrnoException).code ?? (error as Error).message,
      fix: ["The lockfile is unchanged. Check that its directory exists and is writable, and that the disk has space."],
    });
  }
  await syncDirectory(dirname(file));
}

async function syncDirectory(directory: string): Promise<void> {
  try {
    const handle = await open(directory, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some file systems cannot fsync a directory; the rename itself is still atomic.
  }
}

/** How long a command waits for another one writing the same lockfile. */
const LOCK_WAIT_MS = 60_000;

/**
 * Reads the lockfile, applies `change` and writes the result, while holding `<file>.lck`
 * (created exclusively), so two commands finishing at once do not lose each other's
 * entries. Long work (downloads) belongs before this call: the lock is held only while
 * the file is read, changed and written. A missing lockfile reads as empty.
 */
export async function updateLockFile(file: string, change: (lock: LockFile) => LockFile): Promise<LockFile> {
  const guard = `${file}.lck`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await (await open(guard, "wx", 0o644)).close();
      break;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "EEXIST") {
        throw new UserError({
          what: `Could not lock ${file} for writing`,
          cause: code ?? (error as Error).message,
          fix: ["Check that the lockfile's directory exists and is writable."],
        });
      }
      if (Date.now() > deadline) {
        throw new UserError({
          what: `${file} is being written by another nix-model-repo command (${guard} exists)`,
          fix: [`If no other nix-model-repo command is running, remove ${guard} and try again.`],
        });
      }
      await sleep(200);
    }
  }
  try {
    const next = change(await readLockFile(file, { missingOk: true }));
    await writeLockFile(file, next);
    return next;
  } finally {
    await rm(guard, { force: true });
  }
}

/** The lock with `name` set to `entry` (added or replaced). */
export function withEntry(lock: LockFile, name: string, entry: LockEntry): LockFile {
  return { ...lock, models: { ...lock.models, [name]: entry } };
}

/** The lock without `name`. */
export function withoutEntry(lock: LockFile, name: string): LockFile {
  const { [name]: _removed, ...models } = lock.models;
  return { ...lock, models };
}
