import type { Reporter } from "../findings.js";
import { SliceAccess, type RandomAccess } from "../io/random-access.js";
import { latin1, quote } from "../text.js";

/**
 * tar archives: torch.load tries tarfile first for legacy files (the v0.1.1 format), so a tar's
 * members are what it unpickles. Python's tarfile recognises a header by its checksum, not by
 * the "ustar" magic, and so does this reader.
 */

export interface TarMember {
  readonly name: string;
  readonly data: RandomAccess;
  readonly offset: number;
}

export function looksLikeTar(head: Uint8Array): boolean {
  return head.length >= 512 && checksumMatches(head.subarray(0, 512)) && !isZeroBlock(head.subarray(0, 512));
}

function isZeroBlock(block: Uint8Array): boolean {
  return block.every((b) => b === 0);
}

function checksumMatches(block: Uint8Array): boolean {
  const stored = parseOctal(block.subarray(148, 156));
  if (stored === undefined) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b >= 0x80 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

function parseOctal(field: Uint8Array): number | undefined {
  if (field[0] !== undefined && field[0] & 0x80) {
    // GNU base-256 for sizes above 8 GiB.
    let value = 0;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!;
    return value;
  }
  const text = latin1(field).replace(/\0.*$/s, "").trim();
  if (text === "") return 0;
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : undefined;
}

function cString(field: Uint8Array): string {
  const end = field.indexOf(0);
  return latin1(end < 0 ? field : field.subarray(0, end));
}

/** Lists regular-file members; irregularities become findings. */
export function listTar(source: RandomAccess, reporter: Reporter, maxEntries: number): TarMember[] {
  const members: TarMember[] = [];
  let pos = 0;
  let longName: string | undefined;
  let paxPath: string | undefined;
  for (let count = 0; pos + 512 <= source.size; count++) {
    if (count >= maxEntries) {
      reporter.report(
        "INVALID",
        "TAR_TOO_MANY_ENTRIES",
        `more than ${maxEntries} tar entries; the rest are not scanned`,
        pos,
      );
      break;
    }
    const header = source.read(pos, 512);
    if (isZeroBlock(header)) break;
    if (!checksumMatches(header)) {
      reporter.report(
        "INVALID",
        "TAR_BAD_HEADER",
        `tar header at ${pos} has a bad checksum; the rest is not scanned`,
        pos,
      );
      break;
    }
    const size = parseOctal(header.subarray(124, 136));
    if (size === undefined) {
      reporter.report("INVALID", "TAR_BAD_HEADER", `tar header at ${pos} has an unreadable size`, pos);
      break;
    }
    const type = String.fromCharCode(header[156]!);
    const dataStart = pos + 512;
    if (dataStart + size > source.size) {
      reporter.report("INVALID", "TAR_TRUNCATED", `tar member at ${pos} runs past the end of the file`, pos);
    }
    const data = new SliceAccess(source, dataStart, size);
    const prefix = latin1(header.subarray(257, 263)).startsWith("ustar") ? cString(header.subarray(345, 500)) : "";
    const name =
      paxPath ??
      longName ??
      (prefix ? `${prefix}/${cString(header.subarray(0, 100))}` : cString(header.subarray(0, 100)));
    if (type === "L") longName = cString(data.read(0, Math.min(size, 4096)));
    else if (type === "x")
      paxPath = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(latin1(data.read(0, Math.min(size, 65536))))?.[1];
    else {
      if (type === "0" || type === "\0" || type === "7") members.push({ name, data, offset: pos });
      else if (type === "1" || type === "2") {
        reporter.report(
          "WARN",
          "TAR_LINK",
          `tar link ${quote(name)} → ${quote(cString(header.subarray(157, 257)))} is not followed`,
          pos,
        );
      }
      longName = undefined;
      paxPath = undefined;
    }
    pos = dataStart + Math.ceil(size / 512) * 512;
  }
  return members;
}
