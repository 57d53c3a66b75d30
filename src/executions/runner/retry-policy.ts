/**
 * When a failed tenant execution is tried again: `retry_delay_seconds` doubled per
 * attempt (300 s, 600 s, 1200 s with the defaults), capped at a day. Pure, so the
 * schedule is tested without waiting for it.
 */
export function nextAttemptDelayMs(attempt: number, retryDelaySeconds: number): number {
  const exponent = Math.max(0, attempt - 1);
  return Math.min(retryDelaySeconds * 1000 * 2 ** exponent, 86_400_000);
}

/** attempt counts from 1; max_retries = 3 allows attempts 1 (first run) to 4. */
export function shouldRetry(attempt: number, maxRetries: number): boolean {
  return attempt <= maxRetries;
}
