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

/**
 * An event the broker returned (no queue bound) waits for a binding, which an operator or
 * a consumer's deployment adds at a time of its own; every replica retries such events.
 * Longer than a broker outage and spread with full jitter, so they do not come back in
 * lockstep from every replica.
 */
export const DEFAULT_UNROUTABLE_BACKOFF: OutboxBackoff = { baseMs: 2000, maxMs: 60_000 };

/** Full jitter over the capped exponential delay: uniform in [0, delay]; random in [0, 1). */
export function unroutableRetryDelayMs(
  failedAttempts: number,
  backoff = DEFAULT_UNROUTABLE_BACKOFF,
  random: () => number = Math.random,
): number {
  return Math.round(random() * outboxRetryDelayMs(failedAttempts, backoff));
}
