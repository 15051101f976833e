import type { ScanContext } from "../context.js";
import type { Reporter } from "../findings.js";
import { Cursor } from "../io/cursor.js";
import { ScanError } from "../io/errors.js";
import type { RandomAccess } from "../io/random-access.js";
import { continuePickleStream, scanPickleAt } from "../pickle/scan.js";
import { describe, type PickleValue } from "../pickle/values.js";
import { quote } from "../text.js";

/**
 * PyTorch's serialisation formats, as torch.load reads them (torch/serialization.py):
 * - zip (torch >= 1.6): `<prefix>/data.pkl` plus raw storages `<prefix>/data/<key>`
 *   (the zip part is in archive.ts; the storage bookkeeping is here);
 * - legacy (< 1.6): five stacked pickles — magic number, protocol version, sys_info, the object,
 *   the storage keys — then raw storage data;
 * - v0.1.1 tar: members `storages`, `tensors` (pickles interleaved with raw data) and `pickle`.
 * Every pickle torch would unpickle is scanned with full policy; the raw data is skipped by size.
 */

export const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

const ELEMENT_SIZES: Readonly<Record<string, number>> = {
  DoubleStorage: 8,
  FloatStorage: 4,
  HalfStorage: 2,
  LongStorage: 8,
  IntStorage: 4,
  ShortStorage: 2,
  CharStorage: 1,
  ByteStorage: 1,
  BoolStorage: 1,
  BFloat16Storage: 2,
  ComplexDoubleStorage: 16,
  ComplexFloatStorage: 8,
  QUInt8Storage: 1,
  QInt8Storage: 1,
  QInt32Storage: 4,
  QUInt4x2Storage: 1,
  QUInt2x4Storage: 1,
};

/** Collects the storage keys a data.pkl refers to, and flags persistent ids torch would not produce. */
export class StorageKeys {
  readonly keys = new Set<string>();

  handler(allowModules: boolean): (pid: PickleValue, offset: number, reporter: Reporter) => void {
    return (pid, offset, reporter) => {
      if (pid.kind === "tuple" && pid.items[0]?.kind === "str") {
        const tag = pid.items[0].value;
        const key = pid.items[2];
        if (tag === "storage" && key?.kind === "str") {
          this.keys.add(key.value);
          return;
        }
        if (tag === "storage" && key?.kind === "int" && key.value !== undefined) {
          this.keys.add(key.value.toString());
          return;
        }
        // Legacy whole-module saves record each module's source for a warning on load.
        if (tag === "module" && allowModules) return;
      }
      reporter.report(
        "WARN",
        "TORCH_UNUSUAL_PERSISTENT_ID",
        `persistent id ${describe(pid, 2)} is not a storage reference torch.save writes`,
        offset,
      );
    };
  }
}

export function isLegacyMagic(value: PickleValue | undefined): boolean {
  return value?.kind === "int" && value.value === LEGACY_MAGIC;
}

/**
 * A raw pickle file, or a legacy torch file when the first pickle is the magic number. Returns
 * undefined when the bytes do not read as a pickle at all.
 */
export function scanPickleFile(
  source: RandomAccess,
  reporter: Reporter,
  ctx: ScanContext,
  mode: "speculative" | "definitive",
): "pickle" | "pytorch-legacy" | undefined {
  const first = scanPickleAt(source, 0, reporter, ctx, { mode });
  if (!first.accepted) return undefined;
  if (!(first.run.completed && isLegacyMagic(first.run.value))) {
    continuePickleStream(source, [first.run], reporter, ctx, { mode: "speculative", trailing: "warn" });
    return "pickle";
  }
  const storages = new StorageKeys();
  let pos = first.run.end;
  for (const what of ["protocol version", "sys_info", "object", "storage keys"]) {
    if (pos >= source.size) {
      reporter.report("INVALID", "TORCH_LEGACY_TRUNCATED", `legacy torch file ends before its ${what} pickle`, pos);
      return "pytorch-legacy";
    }
    const r = scanPickleAt(source, pos, reporter, ctx, { mode: "definitive", onPersistentId: storages.handler(true) });
    if (!r.run.completed) return "pytorch-legacy";
    pos = r.run.end;
  }
  // What follows is storage data read with f.read(), never unpickled.
  return "pytorch-legacy";
}

/** The `storages` member of a v0.1.1 tar: count, then per storage a pickle and raw data, then views. */
export function scanLegacyTarStorages(source: RandomAccess, reporter: Reporter, ctx: ScanContext): void {
  walkInterleaved(
    source,
    reporter,
    ctx,
    "storages",
    (c, args) => {
      const type = args.kind === "tuple" ? args.items[2] : undefined;
      const size = type?.kind === "global" ? ELEMENT_SIZES[type.name] : undefined;
      if (size === undefined)
        throw new ScanError(`storage record ${describe(args, 2)} has no known storage type`, c.pos);
      const numel = c.u64n("storage size");
      c.skip(numel * size, "storage data");
    },
    true,
  );
}

/** The `tensors` member of a v0.1.1 tar: count, then per tensor a pickle and packed sizes. */
export function scanLegacyTarTensors(source: RandomAccess, reporter: Reporter, ctx: ScanContext): void {
  walkInterleaved(
    source,
    reporter,
    ctx,
    "tensors",
    (c) => {
      const ndim = c.i32("ndim");
      if (ndim < 0 || ndim > 64) throw new ScanError(`tensor record has ${ndim} dimensions`, c.pos);
      c.skip(4 + 16 * ndim + 8, "tensor record");
    },
    false,
  );
}

function walkInterleaved(
  source: RandomAccess,
  reporter: Reporter,
  ctx: ScanContext,
  member: string,
  skipRecord: (cursor: Cursor, args: PickleValue) => void,
  trailingPickle: boolean,
): void {
  const count = scanPickleAt(source, 0, reporter, ctx, { mode: "definitive" });
  if (!count.run.completed) return;
  const n = count.run.value?.kind === "int" ? count.run.value.value : undefined;
  if (n === undefined || n < 0n || n > BigInt(ctx.limits.maxArchiveEntries)) {
    reporter.report(
      "INVALID",
      "TORCH_LEGACY_MALFORMED",
      `${member}: record count ${describe(count.run.value ?? { kind: "none" })} is not usable`,
    );
    return;
  }
  let pos = count.run.end;
  try {
    for (let i = 0n; i < n; i++) {
      const args = scanPickleAt(source, pos, reporter, ctx, { mode: "definitive" });
      if (!args.run.completed || args.run.value === undefined) return;
      const c = new Cursor(source, args.run.end);
      skipRecord(c, args.run.value);
      pos = c.pos;
    }
  } catch (error) {
    if (!(error instanceof ScanError)) throw error;
    reporter.report(
      "INVALID",
      "TORCH_LEGACY_MALFORMED",
      `${member}: ${error.message}; the rest is unverified`,
      error.offset,
    );
    return;
  }
  if (trailingPickle && pos < source.size) scanPickleAt(source, pos, reporter, ctx, { mode: "definitive" });
  else if (pos < source.size) {
    reporter.report(
      "WARN",
      "TRAILING_DATA",
      `${source.size - pos} unexpected bytes after the ${quote(member)} records`,
      pos,
    );
  }
}
