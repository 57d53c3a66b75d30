import { ClientsError } from './clients.errors';
import { isRetryableStatus } from './http/upstream.error';

/**
 * Whether trying the same operation again later can succeed: what the engine asks before
 * scheduling a tenant retry. An error that says (`UpstreamError.retryable`, a
 * ClientsError such as invalid params) is believed; one with only an HTTP status is
 * judged by its class (408, 429, 5xx); anything else (a bug, an unexpected throw) is
 * treated as transient, because giving up on a tenant's day is the costlier mistake.
 */
export function isRetryableFailure(err: unknown): boolean {
  if (err instanceof ClientsError) return err.retryable;
  if (typeof err !== 'object' || err === null) return true;
  const e = err as { retryable?: unknown; status?: unknown };
  if (typeof e.retryable === 'boolean') return e.retryable;
  if (typeof e.status === 'number') return isRetryableStatus(e.status);
  return true;
}
