import { type FieldReader, invalid } from "./fields.js";

/** The spec's `onFailure` block: whole-fetch retries and the notify hook. */
export interface FailureSpec {
  /** Whole-fetch attempts (onFailure.action = "retry" makes it 2). */
  readonly attempts: number;
  /** Executable run when the fetch fails for good (onFailure.notify). */
  readonly notify: string | null;
}

export function parseFailure(r: FieldReader): FailureSpec {
  const failure = {
    attempts: r.number("attempts", { min: 1, integer: true, fallback: 1 }),
    notify: r.optionalString("notify"),
  };
  r.done();
  if (failure.notify !== null && !failure.notify.startsWith("/")) {
    throw invalid("spec.onFailure.notify", "must be the absolute path of an executable (a store path)", failure.notify);
  }
  return failure;
}
