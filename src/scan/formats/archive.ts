import { nestedContext, type ScanContext } from "../context.js";
import type { Reporter } from "../findings.js";
import { LimitError, ScanError } from "../io/errors.js";
import type { RandomAccess } from "../io/random-access.js";
import { scanPickleAt } from "../pickle/scan.js";
import { quote } from "../text.js";
import type { KerasContainer } from "./keras.js";
import { listTar } from "./tar.js";
import { StorageKeys, scanLegacyTarStorages, scanLegacyTarTensors } from "./torch.js";
import { checkCrc, listZip, openEntry, type ZipEntry } from "./zip.js";

/**
 * Archive members: every entry of a zip (by index, duplicates and hidden entries included) or
 * tar is scanned. Members a loader unpickles (torch's data.pkl, any *.pkl) are read as pickles
 * whatever their content looks like; the rest go through the same content sniffing as files,
 * which reads each as a possible pickle too. Only torch's raw storages are skipped.
 */

export type MemberAnalyzer = (
  data: RandomAccess,
  name: string,
  reporter: Reporter,
  ctx: ScanContext,
  container: KerasContainer,
) => void;

/** Members read whole for a CRC check: small enough that it costs nothing. */
const CRC_CHECK_MAX = 16 * 1024 * 1024;
const PICKLE_NAME = /\.(pkl|pickle)$/i;

export function scanZipArchive(
  source: RandomAccess,
  reporter: Reporter,
  ctx: ScanContext,
  analyzeMember: MemberAnalyzer,
): string | undefined {
  const listing = listZip(source, reporter, ctx.limits);
  if (!listing) return undefined;
  const { entries } = listing;
  const names = new Set(entries.map((e) => e.name));
  const first = entries.find((e) => e.inCentralDirectory) ?? entries[0];
  // torch takes the archive folder from the first entry, then reads <folder>/data.pkl.
  const prefix = first?.name.includes("/") ? first.name.slice(0, first.name.indexOf("/") + 1) : "";
  const isTorch = prefix !== "" && names.has(`${prefix}data.pkl`);
  const isTorchScript =
    prefix !== "" && names.has(`${prefix}constants.pkl`) && entries.some((e) => e.name.startsWith(`${prefix}code/`));
  const isNpz = entries.length > 0 && entries.every((e) => e.name.endsWith(".npy"));
  const isKeras =
    names.has("config.json") && (names.has("metadata.json") || [...names].some((n) => n.endsWith(".weights.h5")));
  const format = isTorchScript ? "torchscript" : isTorch ? "pytorch-zip" : isNpz ? "npz" : isKeras ? "keras" : "zip";

  if (ctx.archiveDepth >= ctx.limits.maxArchiveDepth) {
    reporter.report(
      "INVALID",
      "ARCHIVE_TOO_DEEP",
      `archive nested more than ${ctx.limits.maxArchiveDepth} levels; members not scanned`,
    );
    return format;
  }
  if (isTorchScript) {
    reporter.report(
      "WARN",
      "TORCHSCRIPT_CODE",
      "TorchScript archive: torch.jit.load compiles and runs its code/ members, even from torch.load(weights_only=True) before torch 2.6 (CVE-2025-32434); the code is not analysed",
    );
  }
  const storageKeys = new StorageKeys();
  const inner = nestedContext(ctx);
  for (const entry of entries) {
    const memberReporter = reporter.within(entry.name);
    if (isTorch && isStorageMember(entry, prefix)) continue;
    if (entry.name.endsWith("/") && entry.uncompressedSize === 0) continue;
    try {
      const opened = openEntry(source, entry, ctx.limits);
      if (opened.truncated) {
        // Only a finding if a reader needs more than the start (then it reports LIMIT_EXCEEDED).
        memberReporter.report(
          "INFO",
          "ARCHIVE_MEMBER_LARGE",
          `inflates to more than ${ctx.limits.maxInflatedBytes} bytes (maxInflatedBytes); only its start is kept`,
        );
      } else if (opened.data.size <= CRC_CHECK_MAX) {
        checkCrc(opened.data, entry, reporter);
      }
      if (isPickleMember(entry) || (isTorchScript && entry.name.endsWith(".debug_pkl"))) {
        scanPickleAt(opened.data, 0, memberReporter, inner, {
          mode: "definitive",
          ...(isTorch || isTorchScript ? { onPersistentId: storageKeys.handler(false) } : {}),
          // torch.load hands archives with constants.pkl to torch.jit.load, whose unpickler is C++.
          ...(isTorchScript ? { context: "torchscript" as const } : {}),
        });
      } else {
        analyzeMember(opened.data, entry.name, memberReporter, inner, isKeras ? "keras-zip" : "json");
      }
    } catch (error) {
      if (!(error instanceof ScanError)) throw error;
      const code = error instanceof LimitError ? "LIMIT_EXCEEDED" : "ARCHIVE_MEMBER_UNREADABLE";
      memberReporter.report("INVALID", code, error.message, error.offset);
    }
  }
  if (isTorch) {
    for (const key of storageKeys.keys) {
      if (!names.has(`${prefix}data/${key}`)) {
        reporter.report(
          "INVALID",
          "TORCH_MISSING_STORAGE",
          `data.pkl refers to storage ${quote(key)}, which the archive lacks`,
        );
      }
    }
  }
  return format;
}

function isStorageMember(entry: ZipEntry, prefix: string): boolean {
  const storage = (name: string) => name.startsWith(`${prefix}data/`) && /^\d+$/.test(name.slice(prefix.length + 5));
  return storage(entry.name) && (entry.localName === undefined || storage(entry.localName));
}

function isPickleMember(entry: ZipEntry): boolean {
  return PICKLE_NAME.test(entry.name) || (entry.localName !== undefined && PICKLE_NAME.test(entry.localName));
}

/** A tar; when it has torch v0.1.1's members, they are read the way torch.load reads them. */
export function scanTarArchive(
  source: RandomAccess,
  reporter: Reporter,
  ctx: ScanContext,
  analyzeMember: MemberAnalyzer,
): string {
  const members = listTar(source, reporter, ctx.limits.maxArchiveEntries);
  const names = new Set(members.map((m) => m.name));
  const isTorch = names.has("pickle") && names.has("storages") && names.has("tensors");
  if (ctx.archiveDepth >= ctx.limits.maxArchiveDepth) {
    reporter.report(
      "INVALID",
      "ARCHIVE_TOO_DEEP",
      `archive nested more than ${ctx.limits.maxArchiveDepth} levels; members not scanned`,
    );
    return "tar";
  }
  const inner = nestedContext(ctx);
  for (const member of members) {
    const memberReporter = reporter.within(member.name);
    if (isTorch && member.name === "storages") scanLegacyTarStorages(member.data, memberReporter, inner);
    else if (isTorch && member.name === "tensors") scanLegacyTarTensors(member.data, memberReporter, inner);
    else if ((isTorch && member.name === "pickle") || PICKLE_NAME.test(member.name)) {
      scanPickleAt(member.data, 0, memberReporter, inner, { mode: "definitive", onPersistentId: () => undefined });
    } else analyzeMember(member.data, member.name, memberReporter, inner, "json");
  }
  return isTorch ? "pytorch-tar" : "tar";
}
