import { setTimeout as sleep } from "node:timers/promises";
import { failureFromError } from "../errors/classify.js";
import { Failure, TransferFailure } from "../errors/failures.js";

/**
 * The one retry policy for API requests and transfers, as a plain loop:
 *
 * - Only what can change on its own is retried: a TransferFailure says whether it is
 *   (503 and 429 are, 401, 403 and 404 are not; http/failure.ts), a Node or undici error
 *   is judged by its code (errors/classify.ts); any other failure is thrown at once.
 * - Before each retry it waits max(backoff, the server's Retry-After or RateLimit reset),
 *   the backoff doubling from `baseDelayMs` up to `maxDelayMs`, with jitter.
 * - `maxAttempts` counts attempts without progress, the first included. Transfers pass
 *   `madeProgress`: an attempt that received bytes starts the count again (like
 *   huggingface_hub's resumable downloads), so a long file over a flaky link is not doomed
 *   by its length; `maxTotalAttempts` still bounds the whole, so a server that trickles one
 *   byte per connection cannot keep it going forever.
 * - Giving up after more than one attempt says so ("gave up after 5 attempts"): that is
 *   what tells a user the link, not the request, is bad.
 *
 * p-retry, which the design first named, computes its own delay and cannot wait for a
 * server's Retry-After, nor restart its count on progress, without being used against
 * its grain (sleeping in its hooks, wrapping errors both ways); this loop says what it does.
 */
export interface RetryPolicy {
  /** Attempts without progress, the first included (>= 1). */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export interface RetryOptions {
  readonly policy: RetryPolicy;
  readonly signal?: AbortSignal | undefined;
  /** Hard cap on attempts, progress or not. Defaults to `policy.maxAttempts`. */
  readonly maxTotalAttempts?: number;
  /** Whether the attempt that just failed made progress (received bytes); restarts the count. */
  readonly madeProgress?: () => boolean;
  /** Told before each wait, e.g. to log or report "retrying in 2 s". */
  readonly onRetry?: (failure: TransferFailure, delayMs: number, attempt: number) => void;
}

/** The policy from the network settings (at least one attempt). */
export function retryPolicyFrom(settings: RetryPolicy): RetryPolicy {
  return {
    maxAttempts: Math.max(1, settings.maxAttempts),
    baseDelayMs: settings.baseDelayMs,
    maxDelayMs: settings.maxDelayMs,
  };
}

/** Backoff before retry number `failures` (1-based): base·2^(n−1), capped, with "equal jitter". */
export function backoffDelayMs(policy: RetryPolicy, failures: number): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, failures - 1));
  // Half fixed, half random: keeps the growth while spreading parallel retries apart.
  return Math.round(exponential / 2 + (Math.random() * exponential) / 2);
}

export async function withRetries<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { policy, signal } = options;
  const maxTotalAttempts = Math.max(policy.maxAttempts, options.maxTotalAttempts ?? policy.maxAttempts);
  let failuresWithoutProgress = 0;
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw abortReason(signal);
    let failure: TransferFailure;
    try {
      return await operation(attempt);
    } catch (error) {
      if (signal?.aborted) throw abortReason(signal);
      failure = retryable(error);
    }
    failuresWithoutProgress = options.madeProgress?.() ? 1 : failuresWithoutProgress + 1;
    if (failuresWithoutProgress >= policy.maxAttempts || attempt >= maxTotalAttempts) {
      throw attempt > 1 ? gaveUp(failure, attempt) : failure;
    }
    const delayMs = Math.max(backoffDelayMs(policy, failuresWithoutProgress), failure.retryAfterMs ?? 0);
    options.onRetry?.(failure, delayMs, attempt);
    if (delayMs > 0) {
      await sleep(delayMs, undefined, signal === undefined ? {} : { signal }).catch((error: unknown) => {
        throw signal?.aborted ? abortReason(signal) : error;
      });
    }
  }
}

/** The failure to retry with; throws what is not worth another attempt. */
function retryable(error: unknown): TransferFailure {
  // Our other failures (a digest, the disk, the spec) are never a retry's business here.
  if (error instanceof Failure && !(error instanceof TransferFailure)) throw error;
  const failure = failureFromError(error, undefined);
  if (failure.retryable) return failure;
  throw error instanceof Error ? error : failure;
}

function gaveUp(failure: TransferFailure, attempts: number): TransferFailure {
  return new TransferFailure(`${failure.message} (gave up after ${attempts} attempts)`, {
    retryable: false,
    code: failure.code,
    cause: failure.cause,
    headers: failure.headers,
    ...(failure.status === undefined ? {} : { status: failure.status }),
    ...(failure.url === undefined ? {} : { url: failure.url }),
    ...(failure.serverMessage === undefined ? {} : { serverMessage: failure.serverMessage }),
  });
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error(String(reason ?? "aborted"));
}
