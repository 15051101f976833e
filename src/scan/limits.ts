import type { ScanLimits } from "./types.js";

const MiB = 1024 * 1024;

/**
 * Defaults sized so that real checkpoints (hundreds of thousands of opcodes, multi-MiB
 * tokenizer headers) pass with room to spare while a hostile file costs well under a second
 * and tens of MiB of heap.
 */
export const DEFAULT_LIMITS: ScanLimits = {
  maxPickleOpcodes: 5_000_000,
  maxPickleStack: 1_000_000,
  maxPickleMemo: 1_000_000,
  maxNestingDepth: 1_000,
  maxExpandedSize: 100_000_000,
  maxBytesRead: 1024 * MiB,
  maxInflatedBytes: 64 * MiB,
  maxArchiveDepth: 4,
  maxArchiveEntries: 100_000,
  maxSafetensorsHeader: 100_000_000,
  maxJsonBytes: 64 * MiB,
  maxFindingsPerFile: 200,
};

export function resolveLimits(overrides: Partial<ScanLimits> | undefined): ScanLimits {
  return { ...DEFAULT_LIMITS, ...overrides };
}
