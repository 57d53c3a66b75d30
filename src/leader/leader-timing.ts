/**
 * How long a leader may act on its lock, derived from the TTL and heartbeat. Pure, so the
 * arithmetic that keeps two leaders apart is tested on its own.
 */
export interface LeaderTimings {
  ttlMs: number;
  heartbeatMs: number;
  /** Redlock's allowance for clock drift and Redis' 1 ms expiry precision. */
  driftMs: number;
  /**
   * A leader stops this long before its lock's estimated expiry, so a process that is
   * slowed down right at the end still stops before another instance can acquire.
   */
  safetyMarginMs: number;
  /** From the start of a successful acquire/extend request: how long we may act as leader. */
  validityMs: number;
  /** How often the leader renews: the heartbeat, or less when the TTL leaves no room for it. */
  renewEveryMs: number;
  /** Bound on one Redis command, so a hung request is noticed well within the validity. */
  commandTimeoutMs: number;
}

export function leaderTimings(ttlSeconds: number, heartbeatSeconds: number): LeaderTimings {
  const ttlMs = ttlSeconds * 1000;
  const heartbeatMs = heartbeatSeconds * 1000;
  // the same formula as Redlock's own Lock.expiration (driftFactor 0.01, +2 ms)
  const driftMs = Math.round(ttlMs * 0.01) + 2;
  const safetyMarginMs = Math.max(
    1,
    Math.min(Math.max(Math.round(ttlMs * 0.1), 100), Math.floor((ttlMs - heartbeatMs) / 2)),
  );
  const validityMs = ttlMs - driftMs - safetyMarginMs;
  // renewing at least twice per validity window: a heartbeat close to the TTL would
  // otherwise let the validity run out before the first renewal is even attempted
  const renewEveryMs = Math.max(1, Math.min(heartbeatMs, Math.floor(validityMs / 2)));
  const commandTimeoutMs = Math.max(100, Math.min(2000, heartbeatMs, Math.floor(validityMs / 2)));
  return {
    ttlMs,
    heartbeatMs,
    driftMs,
    safetyMarginMs,
    validityMs,
    renewEveryMs,
    commandTimeoutMs,
  };
}
