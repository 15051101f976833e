import type { ByteSource, PieceFetcher } from "../../transfer/types.js";

/**
 * A piece fetched through the engine, as an async iterable: each piece `fetchPiece` hands over
 * is yielded, and the next is read only once the consumer asked for it (back-pressure), so a
 * long range — a whole file through its plain URL — never piles up in memory.
 */
export async function* streamPiece(
  fetchPiece: PieceFetcher,
  source: ByteSource,
  range: { readonly start: number; readonly end: number },
  signal: AbortSignal,
): AsyncGenerator<Uint8Array> {
  let handed: { readonly bytes: Uint8Array; readonly taken: () => void } | undefined;
  let finished = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const stop = new AbortController();
  const both = AbortSignal.any([signal, stop.signal]);
  const done = fetchPiece(
    source,
    range,
    (bytes) =>
      new Promise<void>((taken) => {
        handed = { bytes, taken };
        wake?.();
      }),
    both,
  ).then(
    () => {
      finished = true;
      wake?.();
    },
    (error: unknown) => {
      failure = error;
      finished = true;
      wake?.();
    },
  );
  try {
    for (;;) {
      const next = handed;
      if (next !== undefined) {
        handed = undefined;
        yield next.bytes;
        next.taken();
        continue;
      }
      if (finished) {
        if (failure !== undefined) throw failure;
        return;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    stop.abort();
    handed?.taken();
    await done;
  }
}
