import { createReadStream } from "node:fs";
import { Readable, pipeline } from "node:stream";
import { open, type FileHandle } from "node:fs/promises";
import type { BlobWriter, UnpackedFile } from "../../../model/resolved-model.js";
import { UserError } from "../../../errors/user-error.js";
import { zlib } from "../../../util/builtins-on-demand.js";
import { type EntryNames, checkDirectoryName, entryPath, refuseEntry } from "./entry-name.js";

/**
 * Unpacks a .zip: a strict reader for extraction (the scanner's zip reader in src/scan is
 * the tolerant one). The central directory is the listing; each entry's bytes are read
 * from its own offset, inflated when deflated, checked against the declared size and CRC-32,
 * and streamed into a blob, so memory stays bounded whatever the sizes.
 *
 * Refused rather than guessed at, because unzip tools disagree on them and each
 * disagreement is a way to make the snapshot differ from what a reviewer saw:
 * encryption, compression other than stored/deflate, multi-disk archives, a local header
 * whose name differs from the central directory's, entries whose data overlap or run into
 * the central directory, non-ASCII names without the UTF-8 flag (CP437 or not?), and
 * symbolic links, devices and fifos (Unix mode in the external attributes).
 * Zip64 archives (entries or archives over 4 GiB) are read. Permission bits are dropped.
 */
const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
const SIG_END64 = 0x06064b50;
const SIG_END64_LOCATOR = 0x07064b50;
const END_SIZE = 22;
const MAX_COMMENT = 0xffff;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
/** A central directory larger than this is not a model archive (~1M entries). */
const MAX_CENTRAL_DIRECTORY_BYTES = 256 * 1024 * 1024;

const FLAG_ENCRYPTED = 0x1;
const FLAG_STRONG_ENCRYPTION = 0x40;
const FLAG_UTF8 = 0x800;
const HOST_UNIX = 3;

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

interface ZipEntry {
  readonly name: string;
  readonly nameBytes: Buffer;
  readonly method: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  readonly localHeaderOffset: number;
  readonly isDirectory: boolean;
}

export async function unpackZip(
  file: string,
  options: {
    readonly archive: string;
    readonly names: EntryNames;
    readonly writeBlob: BlobWriter;
  },
): Promise<UnpackedFile[]> {
  const { archive, names, writeBlob } = options;
  const handle = await open(file, "r");
  try {
    const size = (await handle.stat()).size;
    const { entries, centralStart } = await readCentralDirectory(handle, size, archive);
    const located = await locateData(handle, entries, centralStart, archive);
    const files: UnpackedFile[] = [];
    for (const { entry, dataOffset } of located) {
      if (entry.isDirectory) continue;
      const path = entryPath(entry.name, archive);
      names.add(path, archive);
      const written = await writeBlob(entryBytes(file, entry, dataOffset, archive));
      files.push({ path, size: written.size, sha256: written.sha256 });
    }
    return files;
  } finally {
    await handle.close();
  }
}

function malformed(archive: string, why: string): UserError {
  return new UserError({
    what: `Cannot unpack the archive ${archive}: ${why}`,
    fix: [
      "The file matched its sha256, so it is the archive that was pinned: check that it is a plain zip (stored or deflated entries, no encryption).",
    ],
  });
}

async function readAt(handle: FileHandle, offset: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, offset);
  return buffer.subarray(0, bytesRead);
}

function u64(buffer: Buffer, at: number, archive: string): number {
  const value = buffer.readBigUInt64LE(at);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(archive, "a zip64 size or offset is out of range");
  return Number(value);
}

/** The end record must close the file exactly: its comment runs to the last byte. */
async function findEnd(handle: FileHandle, size: number, archive: string): Promise<{ at: number; record: Buffer }> {
  const tailLength = Math.min(size, END_SIZE + MAX_COMMENT);
  const tail = await readAt(handle, size - tailLength, tailLength);
  for (let i = tail.length - END_SIZE; i >= 0; i--) {
    if (tail.readUInt32LE(i) !== SIG_END) continue;
    const commentLength = tail.readUInt16LE(i + 20);
    if (i + END_SIZE + commentLength === tail.length)
      return { at: size - tailLength + i, record: tail.subarray(i, i + END_SIZE) };
  }
  throw malformed(archive, "no end-of-central-directory record (not a zip file, or truncated)");
}

async function readCentralDirectory(
  handle: FileHandle,
  size: number,
  archive: string,
): Promise<{ entries: ZipEntry[]; centralStart: number }> {
  const end = await findEnd(handle, size, archive);
  const disk = end.record.readUInt16LE(4);
  const centralDisk = end.record.readUInt16LE(6);
  let count = end.record.readUInt16LE(10);
  let centralSize = end.record.readUInt32LE(12);
  let centralStart = end.record.readUInt32LE(16);
  if (disk !== 0 || centralDisk !== 0 || end.record.readUInt16LE(8) !== count)
    throw malformed(archive, "multi-disk archives are not supported");

  if (count === 0xffff || centralSize === 0xffffffff || centralStart === 0xffffffff) {
    const locator = await readAt(handle, end.at - 20, 20);
    if (end.at < 20 || locator.readUInt32LE(0) !== SIG_END64_LOCATOR)
      throw malformed(archive, "zip64 values without a zip64 end record locator");
    const end64At = u64(locator, 8, archive);
    const end64 = await readAt(handle, end64At, 56);
    if (end64.length < 56 || end64.readUInt32LE(0) !== SIG_END64)
      throw malformed(archive, "the zip64 end record is missing");
    if (end64.readUInt32LE(16) !== 0 || end64.readUInt32LE(20) !== 0)
      throw malformed(archive, "multi-disk archives are not supported");
    count = u64(end64, 32, archive);
    centralSize = u64(end64, 40, archive);
    centralStart = u64(end64, 48, archive);
  }
  if (centralSize > MAX_CENTRAL_DIRECTORY_BYTES)
    throw malformed(archive, `its central directory is larger than ${MAX_CENTRAL_DIRECTORY_BYTES} bytes`);
  if (centralStart + centralSize > end.at) throw malformed(archive, "the central directory runs past the end record");
  const central = await readAt(handle, centralStart, centralSize);
  if (central.length !== centralSize) throw malformed(archive, "the central directory is truncated");

  const entries: ZipEntry[] = [];
  let at = 0;
  for (let index = 0; index < count; index++) {
    if (at + CENTRAL_SIZE > central.length || central.readUInt32LE(at) !== SIG_CENTRAL)
      throw malformed(archive, `central directory entry ${index} is malformed`);
    const madeBy = central.readUInt16LE(at + 4);
    const flags = central.readUInt16LE(at + 8);
    const method = central.readUInt16LE(at + 10);
    const crc = central.readUInt32LE(at + 16);
    let compressedSize = central.readUInt32LE(at + 20);
    let uncompressedSize = central.readUInt32LE(at + 24);
    const nameLength = central.readUInt16LE(at + 28);
    const extraLength = central.readUInt16LE(at + 30);
    const commentLength = central.readUInt16LE(at + 32);
    const startDisk = central.readUInt16LE(at + 34);
    const externalAttributes = central.readUInt32LE(at + 38);
    let localHeaderOffset = central.readUInt32LE(at + 42);
    const nameBytes = central.subarray(at + CENTRAL_SIZE, at + CENTRAL_SIZE + nameLength);
    const extra = central.subarray(at + CENTRAL_SIZE + nameLength, at + CENTRAL_SIZE + nameLength + extraLength);
    at += CENTRAL_SIZE + nameLength + extraLength + commentLength;
    if (at > central.length) throw malformed(archive, `central directory entry ${index} is truncated`);

    const name = decodeName(nameBytes, flags, archive);
    // Zip64 extended information: only the fields whose 32-bit value is saturated, in this order.
    if (
      uncompressedSize === 0xffffffff ||
      compressedSize === 0xffffffff ||
      localHeaderOffset === 0xffffffff ||
      startDisk === 0xffff
    ) {
      const zip64 = findExtra(extra, 0x0001);
      if (zip64 === undefined) throw malformed(archive, `entry ${JSON.stringify(name)} lacks its zip64 sizes`);
      let field = 0;
      const next = () => {
        if (field + 8 > zip64.length) throw malformed(archive, `entry ${JSON.stringify(name)} has a short zip64 field`);
        const value = u64(zip64, field, archive);
        field += 8;
        return value;
      };
      if (uncompressedSize === 0xffffffff) uncompressedSize = next();
      if (compressedSize === 0xffffffff) compressedSize = next();
      if (localHeaderOffset === 0xffffffff) localHeaderOffset = next();
    }
    if (startDisk !== 0 && startDisk !== 0xffff) throw malformed(archive, "multi-disk archives are not supported");
    if (flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION))
      throw malformed(archive, `entry ${JSON.stringify(name)} is encrypted`);

    const unixMode = madeBy >> 8 === HOST_UNIX ? externalAttributes >>> 16 : 0;
    const type = unixMode & S_IFMT;
    const isDirectory = name.endsWith("/");
    if (type === S_IFLNK) throw refuseEntry(archive, name, "it is a symbolic link");
    if (type !== 0 && type !== S_IFREG && type !== S_IFDIR)
      throw refuseEntry(archive, name, "it is a device, fifo or socket");
    if (isDirectory) {
      if (uncompressedSize !== 0) throw malformed(archive, `directory entry ${JSON.stringify(name)} has content`);
      checkDirectoryName(name, archive);
    } else if (type === S_IFDIR) {
      throw malformed(archive, `entry ${JSON.stringify(name)} is a directory by its mode but not by its name`);
    }
    if (method !== 0 && method !== 8)
      throw malformed(
        archive,
        `entry ${JSON.stringify(name)} uses compression method ${method} (only stored and deflate are supported)`,
      );
    if (method === 0 && compressedSize !== uncompressedSize)
      throw malformed(archive, `stored entry ${JSON.stringify(name)} has two different sizes`);
    entries.push({
      name,
      nameBytes: Buffer.from(nameBytes),
      method,
      crc32: crc,
      compressedSize,
      uncompressedSize,
      localHeaderOffset,
      isDirectory,
    });
  }
  if (at !== central.length) throw malformed(archive, "the central directory holds more than its entry count says");
  return { entries, centralStart };
}

function decodeName(bytes: Buffer, flags: number, archive: string): string {
  const ascii = bytes.every((byte) => byte < 0x80);
  if (!ascii && !(flags & FLAG_UTF8)) {
    throw malformed(
      archive,
      `an entry name (${JSON.stringify(bytes.toString("latin1"))}) is not ASCII and not marked UTF-8, so tools would read it differently`,
    );
  }
  const name = bytes.toString("utf8");
  if (!Buffer.from(name, "utf8").equals(bytes))
    throw malformed(archive, `entry name ${JSON.stringify(name)} is not valid UTF-8`);
  return name;
}

function findExtra(extra: Buffer, id: number): Buffer | undefined {
  for (let at = 0; at + 4 <= extra.length; ) {
    const header = extra.readUInt16LE(at);
    const length = extra.readUInt16LE(at + 2);
    if (header === id) return extra.subarray(at + 4, at + 4 + length);
    at += 4 + length;
  }
  return undefined;
}

/** Reads each local header, checks it agrees with the central entry, and that no two entries share bytes. */
async function locateData(
  handle: FileHandle,
  entries: readonly ZipEntry[],
  centralStart: number,
  archive: string,
): Promise<{ entry: ZipEntry; dataOffset: number }[]> {
  const located: { entry: ZipEntry; dataOffset: number }[] = [];
  for (const entry of entries) {
    const local = await readAt(handle, entry.localHeaderOffset, LOCAL_SIZE);
    if (local.length !== LOCAL_SIZE || local.readUInt32LE(0) !== SIG_LOCAL)
      throw malformed(archive, `entry ${JSON.stringify(entry.name)} has no local header at its offset`);
    const nameLength = local.readUInt16LE(26);
    const extraLength = local.readUInt16LE(28);
    const localName = await readAt(handle, entry.localHeaderOffset + LOCAL_SIZE, nameLength);
    if (!localName.equals(entry.nameBytes)) {
      throw malformed(
        archive,
        `entry ${JSON.stringify(entry.name)} is named ${JSON.stringify(localName.toString("utf8"))} in its local header`,
      );
    }
    if (local.readUInt16LE(8) !== entry.method)
      throw malformed(archive, `entry ${JSON.stringify(entry.name)} has two different compression methods`);
    const dataOffset = entry.localHeaderOffset + LOCAL_SIZE + nameLength + extraLength;
    if (dataOffset + entry.compressedSize > centralStart)
      throw malformed(archive, `entry ${JSON.stringify(entry.name)} runs into the central directory`);
    located.push({ entry, dataOffset });
  }
  // Overlapping entries are how "zip bombs" reuse one compressed stream many times.
  const byOffset = [...located].sort((a, b) => a.entry.localHeaderOffset - b.entry.localHeaderOffset);
  for (let i = 1; i < byOffset.length; i++) {
    const previous = byOffset[i - 1]!;
    if (byOffset[i]!.entry.localHeaderOffset < previous.dataOffset + previous.entry.compressedSize) {
      throw malformed(
        archive,
        `entries ${JSON.stringify(previous.entry.name)} and ${JSON.stringify(byOffset[i]!.entry.name)} overlap`,
      );
    }
  }
  return located;
}

/** An entry's content: inflated if need be, never more than its declared size, CRC-32 checked at the end. */
async function* entryBytes(
  file: string,
  entry: ZipEntry,
  dataOffset: number,
  archive: string,
): AsyncGenerator<Uint8Array> {
  // Loaded on first use: a fetch with nothing to unpack does not need node:zlib.
  const { createInflateRaw, crc32 } = zlib();
  const raw =
    entry.compressedSize === 0
      ? Readable.from([])
      : createReadStream(file, { start: dataOffset, end: dataOffset + entry.compressedSize - 1 });
  // pipeline hands a read error on to the inflater, which is what is iterated.
  const source: Readable = entry.method === 8 ? pipeline(raw, createInflateRaw(), () => undefined) : raw;
  let crc = 0;
  let size = 0;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > entry.uncompressedSize)
        throw malformed(
          archive,
          `entry ${JSON.stringify(entry.name)} inflates to more than its declared ${entry.uncompressedSize} bytes`,
        );
      crc = crc32(chunk, crc);
      yield chunk;
    }
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw malformed(archive, `entry ${JSON.stringify(entry.name)} cannot be inflated: ${(error as Error).message}`);
  }
  if (size !== entry.uncompressedSize)
    throw malformed(
      archive,
      `entry ${JSON.stringify(entry.name)} holds ${size} bytes, not the declared ${entry.uncompressedSize}`,
    );
  if (crc >>> 0 !== entry.crc32) throw malformed(archive, `entry ${JSON.stringify(entry.name)} fails its CRC-32 check`);
}
