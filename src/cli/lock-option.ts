import { DEFAULT_LOCK_PATH } from "../lockfile/index.js";
import type { LockOption } from "../lifecycle/catalog.js";

/** `--lock FILE` as the lifecycle commands read it: the default lockfile may be missing, a named one may not. */
export function lockOptionOf(value: string | undefined): LockOption {
  return { path: value ?? DEFAULT_LOCK_PATH, explicit: value !== undefined };
}
