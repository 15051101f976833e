import { crc32 } from "node:zlib";
import type { ScanLimits } from "../types.js";
import type { Reporter } from "../findings.js";
import { Cursor } from "../io/cursor.js";
import { ScanError } from "../io/errors.js";
import { inflateBounded, type Inflated } from "../io/inflate.js";
import { SliceAccess, type RandomAccess } from "../io/random-access.js";
import { latin1, quote, utf8OrUndefined } from "../text.js";

/**
 * A tolerant zip reader. Loaders disagree about zips (torch's miniz ignores CRCs, flag bits and
 * the local header's name; Python's zipfile finds the end record anywhere and accepts prepended
 * data), and every disagreement has been used to hide a pickle from a scanner (CVE-2025-1944,
 * CVE-2025-1945, CVE-2025-10156). So this reader accepts whatever any of them accepts, lists
 * every entry by index — central directory entries, duplicates included, plus entries only the
 * local headers show — and reports each irregularity as a finding instead of failing.
 */

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END64 = 0x06064b50;
const SIG_END64_LOCATOR = 0x07064b50;
const SIG_DESCRIPTOR = 0x08074b50;
const MAX_COMMENT = 0xffff;
const END_SIGNATURE = Buffer.from([0x50, 0x4b, 0x05, 0x06]);

export interface ZipEntry {
  /** Position in the listing: central directory order, then local-only entries. */
  readonly index: number;
  /** The central directory's name (what loaders look up), or the local name for local-only entries. */
  readonly name: string;
  /** The local header's name, when it differs. */
  readonly localName: string | undefined;
  readonly flags: number;
  readonly method: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  readonly localHeaderOffset: number;
  /** Where the member's data starts (after the local header, as miniz computes it). */
  readonly dataOffset: number;
  readonly inCentralDirectory: boolean;
}

export interface ZipListing {
  readonly entries: readonly ZipEntry[];
  /** Bytes before the archive proper (Python's zipfile "concat"): prepended data. */
  readonly prefixLength: number;
  /** True when the archive starts at offset 0 (what torch.load requires). */
  readonly startsAtZero: boolean;
}

const le32 = (b: Uint8Array, at: number) => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000;

export function startsWithZipMagic(head: Uint8Array): boolean {
  return head.length >= 4 && le32(head, 0) === SIG_LOCAL;
}

/** Offset of the end-of-central-directory record, searched as Python's zipfile does. */
export function findEndRecord(source: RandomAccess): number | undefined {
  const size = source.size;
  if (size < 22) return undefined;
  const tailLength = Math.min(size, 22 + MAX_COMMENT);
  const tail = Buffer.from(source.read(size - tailLength, tailLength));
  const at = tail.lastIndexOf(END_SIGNATURE, tail.length - 22);
  return at < 0 ? undefined : size - tailLength + at;
}

/**
 * Lists the archive. Returns undefined when there is neither an end record nor a local header
 * at offset 0 (not a zip at all). Irregularities are reported, not thrown.
 */
export function listZip(source: RandomAccess, reporter: Reporter, limits: ScanLimits): ZipListing | undefined {
  const head = source.read(0, 4);
  const startsAtZero = startsWithZipMagic(head);
  const endAt = findEndRecord(source);
  if (endAt === undefined && !startsAtZero) return undefined;

  const entries: ZipEntry[] = [];
  let prefixLength = 0;
  const invalid = (code: string, message: string, offset?: number) => reporter.report("INVALID", code, message, offset);

  if (endAt === undefined) {
    invalid("ZIP_NO_CENTRAL_DIRECTORY", "no end-of-central-directory record: only the local headers can be read");
  } else {
    try {
      prefixLength = readCentralDirectory(source, endAt, entries, reporter, limits);
    } catch (error) {
      if (!(error instanceof ScanError)) throw error;
      invalid("ZIP_BAD_CENTRAL_DIRECTORY", `central directory: ${error.message}`, error.offset);
    }
  }
  walkLocalHeaders(source, startsAtZero ? 0 : prefixLength, entries, reporter, limits);
  checkNames(entries, reporter);
  return { entries, prefixLength, startsAtZero };
}

function readCentralDirectory(
  source: RandomAccess,
  endAt: number,
  entries: ZipEntry[],
  reporter: Reporter,
  limits: ScanLimits,
): number {
  const end = new Cursor(source, endAt);
  end.skip(4 + 4 + 2, "end record");
  let count = end.u16("entry count");
  let cdSize = end.u32("directory size");
  let cdOffset = end.u32("directory offset");
  let recordsStart = endAt;
  // ZIP64 (torch always writes it): a locator just before the end record points at the
  // zip64 end record, whose counts and offsets replace the 16/32-bit ones.
  if (endAt >= 20) {
    const locator = new Cursor(source, endAt - 20);
    if (locator.u32() === SIG_END64_LOCATOR) {
      locator.skip(4);
      const end64At = locator.u64n("zip64 end offset");
      // Python's zipfile assumes the zip64 end record sits right before the locator.
      const end64 = new Cursor(source, endAt - 20 - 56);
      if (endAt >= 76 && end64.u32() === SIG_END64) {
        end64.skip(8 + 2 + 2 + 4 + 4 + 8);
        count = end64.u64n("zip64 entry count");
        cdSize = end64.u64n("zip64 directory size");
        cdOffset = end64.u64n("zip64 directory offset");
        recordsStart = endAt - 20 - 56;
      } else {
        reporter.report(
          "INVALID",
          "ZIP_BAD_ZIP64",
          `zip64 locator points at ${end64At}, where there is no zip64 end record`,
          endAt - 20,
        );
      }
    }
  }
  // Python's zipfile: data before the archive shifts every offset by the same amount.
  const prefix = Math.max(0, recordsStart - cdSize - cdOffset);
  if (prefix > 0) {
    reporter.report(
      "WARN",
      "ZIP_PREPENDED_DATA",
      `${prefix} bytes precede the zip archive (a polyglot or self-extractor)`,
      0,
    );
  }
  if (count > limits.maxArchiveEntries) {
    reporter.report(
      "INVALID",
      "ZIP_TOO_MANY_ENTRIES",
      `${count} entries; only the first ${limits.maxArchiveEntries} are scanned`,
    );
    count = limits.maxArchiveEntries;
  }
  const c = new Cursor(source, cdOffset + prefix, cdOffset + prefix + cdSize);
  for (let i = 0; i < count; i++) {
    const at = c.pos;
    if (c.u32("central header signature") !== SIG_CENTRAL) {
      reporter.report(
        "INVALID",
        "ZIP_BAD_CENTRAL_DIRECTORY",
        `entry ${i} of the central directory has a bad signature`,
        at,
      );
      break;
    }
    c.skip(4, "versions");
    const flags = c.u16();
    const method = c.u16();
    c.skip(4, "time");
    const crc = c.u32();
    let compressedSize = c.u32();
    let uncompressedSize = c.u32();
    const nameLength = c.u16();
    const extraLength = c.u16();
    const commentLength = c.u16();
    c.skip(8, "disk and attributes");
    let localHeaderOffset = c.u32();
    const name = decodeName(c.bytes(nameLength, "name"), flags);
    const extra = c.bytes(extraLength, "extra field").slice();
    c.skip(commentLength, "comment");
    const zip64 = readZip64Extra(
      extra,
      uncompressedSize === 0xffffffff,
      compressedSize === 0xffffffff,
      localHeaderOffset === 0xffffffff,
    );
    uncompressedSize = zip64.uncompressed ?? uncompressedSize;
    compressedSize = zip64.compressed ?? compressedSize;
    localHeaderOffset = (zip64.offset ?? localHeaderOffset) + prefix;
    const local = readLocalHeader(source, localHeaderOffset);
    if (!local) {
      reporter.report(
        "INVALID",
        "ZIP_BAD_LOCAL_HEADER",
        `entry ${quote(name)} points at ${localHeaderOffset}, where there is no local header`,
      );
      continue;
    }
    entries.push({
      index: entries.length,
      name,
      localName: local.name === name ? undefined : local.name,
      flags,
      method,
      crc32: crc,
      compressedSize,
      uncompressedSize,
      localHeaderOffset,
      dataOffset: local.dataOffset,
      inCentralDirectory: true,
    });
  }
  return prefix;
}

interface LocalHeader {
  readonly name: string;
  readonly flags: number;
  readonly method: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  readonly dataOffset: number;
  readonly zip64: boolean;
}

function readLocalHeader(source: RandomAccess, at: number): LocalHeader | undefined {
  try {
    const c = new Cursor(source, at);
    if (c.u32() !== SIG_LOCAL) return undefined;
    c.skip(2);
    const flags = c.u16();
    const method = c.u16();
    c.skip(4);
    const crc = c.u32();
    const compressed = c.u32();
    const uncompressed = c.u32();
    const nameLength = c.u16();
    const extraLength = c.u16();
    const name = decodeName(c.bytes(nameLength, "name"), flags);
    const extra = c.bytes(extraLength, "extra field").slice();
    const zip64 = readZip64Extra(extra, uncompressed === 0xffffffff, compressed === 0xffffffff, false);
    return {
      name,
      flags,
      method,
      crc32: crc,
      compressedSize: zip64.compressed ?? compressed,
      uncompressedSize: zip64.uncompressed ?? uncompressed,
      dataOffset: c.pos,
      zip64: zip64.compressed !== undefined,
    };
  } catch (error) {
    if (error instanceof ScanError) return undefined;
    throw error;
  }
}

/**
 * Walks local headers from the start of the archive. Entries the central directory does not
 * list are invisible to miniz and zipfile but not to streaming readers; they are scanned too.
 */
function walkLocalHeaders(
  source: RandomAccess,
  start: number,
  entries: ZipEntry[],
  reporter: Reporter,
  limits: ScanLimits,
): void {
  const byOffset = new Map(entries.map((entry) => [entry.localHeaderOffset, entry]));
  let pos = start;
  let walked = 0;
  while (pos + 30 <= source.size && walked++ < limits.maxArchiveEntries) {
    const local = readLocalHeader(source, pos);
    if (!local) break;
    const known = byOffset.get(pos);
    let size = local.compressedSize;
    if (local.flags & 0x8 && size === 0) {
      if (!known) {
        reporter.report(
          "WARN",
          "ZIP_WALK_STOPPED",
          `entry ${quote(local.name)} at ${pos} has no size in its local header; walk stopped`,
          pos,
        );
        break;
      }
      size = known.compressedSize;
    }
    if (!known) {
      reporter.report(
        "INVALID",
        "ZIP_HIDDEN_ENTRY",
        `entry ${quote(local.name)} at ${pos} is missing from the central directory (hidden from most zip readers)`,
        pos,
      );
      entries.push({
        index: entries.length,
        name: local.name,
        localName: undefined,
        flags: local.flags,
        method: local.method,
        crc32: local.crc32,
        compressedSize: size,
        uncompressedSize: local.uncompressedSize,
        localHeaderOffset: pos,
        dataOffset: local.dataOffset,
        inCentralDirectory: false,
      });
    }
    pos = local.dataOffset + size;
    if (local.flags & 0x8) pos = skipDescriptor(source, pos, local.zip64 || (known?.compressedSize ?? 0) > 0xfffffffe);
  }
}

/** A data descriptor is 12 or 20 bytes, optionally after a signature; pick the reading a header follows. */
function skipDescriptor(source: RandomAccess, pos: number, zip64: boolean): number {
  const probe = source.read(pos, 4);
  const signed = probe.length === 4 && le32(probe, 0) === SIG_DESCRIPTOR;
  const candidates = [signed ? 4 : 0].flatMap((sig) => (zip64 ? [sig + 20, sig + 12] : [sig + 12, sig + 20]));
  for (const length of candidates) {
    const next = source.read(pos + length, 4);
    if (next.length === 4 && (le32(next, 0) === SIG_LOCAL || le32(next, 0) === SIG_CENTRAL)) return pos + length;
  }
  return pos + candidates[0]!;
}

function readZip64Extra(
  extra: Uint8Array,
  wantUncompressed: boolean,
  wantCompressed: boolean,
  wantOffset: boolean,
): { uncompressed?: number; compressed?: number; offset?: number } {
  const view = new DataView(extra.buffer, extra.byteOffset, extra.length);
  for (let i = 0; i + 4 <= extra.length; ) {
    const id = view.getUint16(i, true);
    const length = view.getUint16(i + 2, true);
    if (id === 0x0001) {
      const out: { uncompressed?: number; compressed?: number; offset?: number } = {};
      let p = i + 4;
      const take = () => {
        if (p + 8 > i + 4 + length || p + 8 > extra.length) return undefined;
        const value = Number(view.getBigUint64(p, true));
        p += 8;
        return value;
      };
      if (wantUncompressed) out.uncompressed = take();
      if (wantCompressed) out.compressed = take();
      if (wantOffset) out.offset = take();
      return out;
    }
    i += 4 + length;
  }
  return {};
}

function decodeName(bytes: Uint8Array, flags: number): string {
  // Bit 11 promises UTF-8; otherwise CP437, which agrees with latin-1 on the ASCII names that matter.
  return (flags & 0x800 ? utf8OrUndefined(bytes) : undefined) ?? latin1(bytes);
}

function checkNames(entries: readonly ZipEntry[], reporter: Reporter): void {
  const seen = new Map<string, number>();
  for (const entry of entries) {
    if (entry.localName !== undefined) {
      reporter.report(
        "INVALID",
        "ZIP_NAME_MISMATCH",
        `entry ${entry.index} is ${quote(entry.name)} in the central directory but ${quote(entry.localName)} in its local header`,
        entry.localHeaderOffset,
      );
    }
    const previous = seen.get(entry.name);
    if (previous !== undefined) {
      reporter.report(
        "INVALID",
        "ZIP_DUPLICATE_NAME",
        `entries ${previous} and ${entry.index} are both named ${quote(entry.name)}; loaders disagree on which one counts`,
        entry.localHeaderOffset,
      );
    } else seen.set(entry.name, entry.index);
    if (entry.flags & 0x41) {
      reporter.report(
        "INVALID",
        "ZIP_ENCRYPTED_FLAG",
        `entry ${quote(entry.name)} claims encryption (flags 0x${entry.flags.toString(16)}); torch ignores the flag and reads it as plain data`,
        entry.localHeaderOffset,
      );
    }
    if (entry.flags & 0x20) {
      reporter.report(
        "INVALID",
        "ZIP_PATCHED_FLAG",
        `entry ${quote(entry.name)} sets the compressed-patched-data flag`,
        entry.localHeaderOffset,
      );
    }
    if (/(^|\/)\.\.(\/|$)|^\/|^[A-Za-z]:|\\/.test(entry.name)) {
      reporter.report(
        "WARN",
        "ZIP_UNSAFE_PATH",
        `entry name ${quote(entry.name)} would escape the extraction directory`,
      );
    }
  }
}

/**
 * The member's content: a window on the file for stored members (nothing is read yet), the
 * inflated bytes (bounded by maxInflatedBytes) for deflated ones. Throws ScanError for
 * compression methods torch cannot read either.
 */
export function openEntry(source: RandomAccess, entry: ZipEntry, limits: ScanLimits): Inflated {
  const available = Math.max(0, Math.min(entry.compressedSize, source.size - entry.dataOffset));
  const stored = new SliceAccess(source, entry.dataOffset, available);
  if (entry.method === 0) return { data: stored, truncated: false };
  if (entry.method !== 8)
    throw new ScanError(`compression method ${entry.method} is not supported by torch or this scanner`);
  return inflateBounded(stored, "raw", limits.maxInflatedBytes, entry.uncompressedSize);
}

/** CRC-32 of a member read in full; compared with the central directory's value. */
export function checkCrc(data: RandomAccess, entry: ZipEntry, reporter: Reporter): void {
  const bytes = data.read(0, data.size);
  const actual = crc32(bytes) >>> 0;
  if (actual !== entry.crc32 >>> 0) {
    reporter.report(
      "INVALID",
      "ZIP_BAD_CRC",
      `entry ${quote(entry.name)} has CRC-32 ${hex(actual)} but the archive records ${hex(entry.crc32)}; torch loads it anyway, Python's zipfile refuses`,
      entry.localHeaderOffset,
    );
  }
}

function hex(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, "0")}`;
}
