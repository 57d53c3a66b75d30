/**
 * Retry timing as pure functions (after BullMQ's backoffs.ts): the HTTP core asks how long
 * to wait, tests check the answer without sleeping.
 */

export interface BackoffSettings {
  /** ceiling of the first retry's delay */
  initialDelayMs: number;
  /** no retry waits longer than this, however many attempts */
  maxDelayMs: number;
  /** growth of the ceiling per attempt */
  multiplier: number;
}

export const DEFAULT_BACKOFF: BackoffSettings = {
  initialDelayMs: 250,
  maxDelayMs: 10_000,
  multiplier: 2,
};

/** The exponential ceiling for retry number `retry` (1 = first retry), capped. */
export function backoffCeilingMs(retry: number, settings: BackoffSettings): number {
  const exp = settings.initialDelayMs * settings.multiplier ** Math.max(0, retry - 1);
  return Math.min(settings.maxDelayMs, exp);
}

/**
 * Full jitter: uniform in [0, ceiling). Spreads the retries of many tenants that failed
 * together (the AWS architecture blog's "full jitter" beat "equal" and "decorrelated" for
 * total work done), so a recovering service is not hit by a synchronized wave.
 */
export function backoffDelayMs(
  retry: number,
  settings: BackoffSettings,
  random: () => number = Math.random,
): number {
  return Math.floor(random() * backoffCeilingMs(retry, settings));
}

/**
 * Retry-After as milliseconds from `nowMs`: delta-seconds or an HTTP date (RFC 9110 10.2.3).
 * undefined when absent or unreadable; never negative.
 */
export function parseRetryAfterMs(
  value: string | string[] | undefined,
  nowMs: number,
): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // an HTTP date has a weekday and month names; Date.parse would read "-3" as a year
  if (!/^[A-Za-z]{3}, /.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}
