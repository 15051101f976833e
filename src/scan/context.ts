import type { OpcodeBudget } from "./pickle/machine.js";
import type { ScanLimits } from "./types.js";

/** What every reader of one file shares: the caps, and the budgets drawn down across readings. */
export interface ScanContext {
  readonly limits: ScanLimits;
  readonly opcodes: OpcodeBudget;
  /** How many archives deep the current reading is (0 for the file itself). */
  readonly archiveDepth: number;
}

export function nestedContext(ctx: ScanContext): ScanContext {
  return { ...ctx, archiveDepth: ctx.archiveDepth + 1 };
}
