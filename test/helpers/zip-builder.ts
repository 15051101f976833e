/**
 * Builds zip archives byte by byte for tests, including the hostile ones no zip tool
 * would write: names with "..", symlink modes, a local name that differs from the
 * central directory's, overlapping entries, wrong CRCs, encryption flags.
 */
import { crc32, deflateRawSync } from "node:zlib";

export interface ZipEntrySpec {
  readonly name: string;
  readonly content?: Buffer | string;
  /** 0 stored, 8 deflate (default), or any number to test refusal. */
  readonly method?: number;
  /** Unix mode for the external attributes (made by Unix), e.g. 0o120777 for a symlink. */
  readonly unixMode?: number;
  readonly flags?: number;
  /** Name written in the local header, when it should differ. */
  readonly localName?: string;
  /** CRC-32 to declare instead of the real one. */
  readonly crc32?: number;
  /** Uncompressed size to declare instead of the real one. */
  readonly declaredSize?: number;
  /** Raw name bytes instead of UTF-8 of `name` (for non-UTF-8 names). */
  readonly nameBytes?: Buffer;
  /** Write no local record; point the central record at this offset instead (overlaps). */
  readonly centralOnlyAt?: number;
}

export function buildZip(entries: readonly ZipEntrySpec[], options: { comment?: string } = {}): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const content = Buffer.from(entry.content ?? "");
    const method = entry.method ?? 8;
    const data = method === 8 ? deflateRawSync(content) : content;
    const nameBytes = entry.nameBytes ?? Buffer.from(entry.name, "utf8");
    const localNameBytes = entry.localName === undefined ? nameBytes : Buffer.from(entry.localName, "utf8");
    const crc = entry.crc32 ?? crc32(content);
    const size = entry.declaredSize ?? content.length;
    const flags = entry.flags ?? (entry.nameBytes ? 0 : 0x800);

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(localNameBytes.length, 26);
    const localOffset = entry.centralOnlyAt ?? offset;
    if (entry.centralOnlyAt === undefined) {
      const record = Buffer.concat([local, localNameBytes, data]);
      locals.push(record);
      offset += record.length;
    }

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(entry.unixMode === undefined ? 20 : (3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc >>> 0, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(entry.unixMode === undefined ? 0 : (entry.unixMode << 16) >>> 0, 38);
    central.writeUInt32LE(localOffset, 42);
    centrals.push(Buffer.concat([central, nameBytes]));
  }
  const centralDirectory = Buffer.concat(centrals);
  const comment = Buffer.from(options.comment ?? "");
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralDirectory.length, 12);
  end.writeUInt32LE(offset, 16);
  end.writeUInt16LE(comment.length, 20);
  return Buffer.concat([...locals, centralDirectory, end, comment]);
}

/** A local file record (header, name, stored data), e.g. to hide inside another entry's data. */
export function localRecord(name: string, content: Buffer | string): Buffer {
  const data = Buffer.from(content);
  const nameBytes = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(0x800, 6);
  local.writeUInt32LE(crc32(data) >>> 0, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(nameBytes.length, 26);
  return Buffer.concat([local, nameBytes, data]);
}
