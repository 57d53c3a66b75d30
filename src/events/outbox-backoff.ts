/** How long a row waits before the next publish attempt (pure, so it is table-tested). */
export interface OutboxBackoff {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_OUTBOX_BACKOFF: OutboxBackoff = { baseMs: 1000, maxMs: 30_000 };

/**
 * Exponential, capped: base, 2*base, 4*base ... maxMs after the 1st, 2nd, 3rd failure.
 * No jitter: the rows of one batch failed for the same reason (usually the broker is
 * away) and should come back together, and at most one claim per replica hits them.
 */
export function outboxRetryDelayMs(
  failedAttempts: number,
  backoff = DEFAULT_OUTBOX_BACKOFF,
): number {
  const exponent = Math.max(0, Math.min(failedAttempts - 1, 30));
  return Math.min(backoff.maxMs, backoff.baseMs * 2 ** exponent);
}
