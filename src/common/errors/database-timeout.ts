/**
 * A database error that says "not now" rather than "wrong": a statement cancelled by
 * statement_timeout (a lock held elsewhere, an overloaded server), a session ended while
 * idle in a transaction, or no pooled connection free within the acquire timeout. The
 * caller can retry; it is answered 503 with a reason, not a 500.
 */
export function describeDatabaseTimeout(err: unknown): string | null {
  if (!(err instanceof Error)) return null;
  const e = err as Error & { code?: string; driverError?: { code?: string } };
  const code = e.code ?? e.driverError?.code;
  if (code === '57014') return 'a database statement ran past its timeout';
  if (code === '55P03') return 'a database lock was not available';
  if (code === '25P03') return 'a database transaction sat idle past its timeout';
  // pg-pool's wording when no connection frees up (or opens) within connectionTimeoutMillis
  if (/timeout exceeded when trying to connect|connection timeout/i.test(e.message))
    return 'no database connection was free in time';
  return null;
}
