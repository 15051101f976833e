import { DEFAULT_LOCK_PATH } from "../lockfile/index.js";
import type { LockOption } from "../lifecycle/catalog.js";

/** The options every command about the lockfile takes (LOCK_OPTIONS_USAGE words them). */
export const LOCK_OPTIONS = {
  lock: { type: "string" },
  json: { type: "boolean", default: false },
} as const;

/** `--lock FILE` as the lifecycle commands read it: the default lockfile may be missing, a named one may not. */
export function lockOptionOf(value: string | undefined): LockOption {
  return { path: value ?? DEFAULT_LOCK_PATH, explicit: value !== undefined };
}
