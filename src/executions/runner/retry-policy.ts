import { backoffDelayMs } from 'src/clients/http/backoff';
import { isRetryableFailure } from 'src/clients/retryable';

/** No tenant retry waits longer than a day, however many attempts. */
const MAX_TENANT_RETRY_DELAY_MS = 86_400_000;

/**
 * When a failed tenant execution is tried again: full jitter over a ceiling of
 * `retry_delay_seconds` doubled per attempt (300 s, 600 s, 1200 s with the defaults),
 * capped at a day. The HTTP core's backoff, so 10,000 tenants that failed together come
 * back spread over the window, not in the same second. Pure (the random source is
 * injected), so the schedule is tested without waiting for it.
 */
export function nextAttemptDelayMs(
  attempt: number,
  retryDelaySeconds: number,
  random: () => number = Math.random,
): number {
  return backoffDelayMs(
    attempt,
    {
      initialDelayMs: retryDelaySeconds * 1000,
      maxDelayMs: MAX_TENANT_RETRY_DELAY_MS,
      multiplier: 2,
    },
    random,
  );
}

/** attempt counts from 1; max_retries = 3 allows attempts 1 (first run) to 4. */
export function shouldRetry(attempt: number, maxRetries: number): boolean {
  return attempt <= maxRetries;
}

/**
 * The first failure that no retry can fix (a 4xx other than 408/429, invalid params), or
 * undefined when every failure may pass: the tenant then fails at once instead of
 * repeating a request the downstream already refused.
 */
export function permanentFailure(failures: Iterable<unknown>): unknown {
  for (const err of failures) if (!isRetryableFailure(err)) return err;
  return undefined;
}
