import type { GroupRunResult } from "./process-group.js";

/** Why a validator process failed, in words that do not depend on timing. */
export function describeEnd(run: GroupRunResult, timeoutSeconds: number): string {
  if (run.spawnError !== undefined) return `could not be started: ${run.spawnError}`;
  if (run.timedOut)
    return `timed out after ${timeoutSeconds} s (its processes were killed); raise its timeout if the model needs longer`;
  if (run.signal !== null) return `was killed by ${run.signal}`;
  return `exited with status ${run.code}`;
}
