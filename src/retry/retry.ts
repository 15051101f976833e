import pRetry, { AbortError } from "p-retry";
import { setTimeout as sleep } from "node:timers/promises";
import { TransferFailure } from "../errors/failures.js";
import { failureFromError } from "../errors/classify.js";

/**
 * The one retry policy for API requests and transfers: exponential backoff from
 * `baseDelayMs`, doubling, capped by `maxDelayMs`, with jitter; the wait is
 * max(backoff, the server's Retry-After); only retryable TransferFailures are retried.
 *
 * Transfers pass `madeProgress`: a failed attempt that received bytes resets the
 * count of failures (like huggingface_hub's resumable downloads), so a long file over a
 * flaky link is not doomed by its length; `maxTotalAttempts` still bounds the whole
 * thing so a server that trickles one byte per connection cannot loop forever.
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
  /** Whether the attempt that just failed made progress (received bytes); resets the failure count. */
  readonly madeProgress?: () => boolean;
  /** Told before each wait, e.g. to log or report "retrying in 2 s". */
  readonly onRetry?: (failure: TransferFailure, delayMs: number, attempt: number) => void;
}

/** The retry part of the network settings (src/http/settings.ts), in milliseconds. */
export interface RetrySettings {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export function retryPolicyFrom(settings: RetrySettings): RetryPolicy {
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
  let attempts = 0;

  const run = pRetry(
    async (attempt) => {
      attempts = attempt;
      try {
        return await operation(attempt);
      } catch (error) {
        if (signal?.aborted) throw new AbortError(abortReason(signal));
        const failure = failureFromError(error, undefined);
        if (failure.retryable) throw failure;
        // AbortError makes p-retry stop at once and reject with the error as thrown.
        throw new AbortError(error instanceof Error ? error : failure);
      }
    },
    {
      retries: maxTotalAttempts - 1,
      // p-retry must not wait on its own: the wait depends on Retry-After, so shouldRetry sleeps.
      minTimeout: 0,
      ...(signal === undefined ? {} : { signal }),
      shouldRetry: async ({ error, attemptNumber }) => {
        if (!(error instanceof TransferFailure) || !error.retryable) return false;
        if (options.madeProgress?.()) failuresWithoutProgress = 0;
        failuresWithoutProgress += 1;
        if (failuresWithoutProgress >= policy.maxAttempts) return false;
        const delayMs = Math.max(backoffDelayMs(policy, failuresWithoutProgress), error.retryAfterMs ?? 0);
        options.onRetry?.(error, delayMs, attemptNumber);
        if (delayMs > 0) {
          await sleep(delayMs, undefined, signal === undefined ? {} : { signal }).catch((error: unknown) => {
            throw signal?.aborted ? abortReason(signal) : error;
          });
        }
        return true;
      },
    },
  );
  return run.catch((error: unknown) => {
    // Say how hard we tried: "gave up after 5 attempts" is what tells a user the link is bad.
    if (error instanceof TransferFailure && error.retryable && attempts > 1) throw gaveUp(error, attempts);
    throw error;
  });
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
