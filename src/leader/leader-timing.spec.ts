import { leaderTimings } from './leader-timing';

describe(leaderTimings.name, () => {
  it.each([
    // ttl s, heartbeat s
    [3, 1],
    [2, 1],
    [90, 30],
    [31, 30],
    [7200, 3600],
    [3601, 3600],
  ])(
    'with TTL %i s and heartbeat %i s, stops leading strictly before the lock expires and renews in time',
    (ttl, hb) => {
      const t = leaderTimings(ttl, hb);
      expect(t.validityMs).toBeLessThan(t.ttlMs - t.driftMs);
      expect(t.safetyMarginMs).toBeGreaterThan(0);
      // at least two renewal opportunities before the validity runs out
      expect(t.renewEveryMs * 2).toBeLessThanOrEqual(t.validityMs);
      expect(t.renewEveryMs).toBeLessThanOrEqual(t.heartbeatMs);
      expect(t.commandTimeoutMs).toBeLessThan(t.validityMs);
    },
  );

  it('keeps the configured heartbeat when the TTL leaves room for it', () => {
    expect(leaderTimings(90, 30)).toEqual(
      expect.objectContaining({ renewEveryMs: 30000, safetyMarginMs: 9000, driftMs: 902 }),
    );
    expect(leaderTimings(3, 1)).toEqual(
      expect.objectContaining({ renewEveryMs: 1000, safetyMarginMs: 300, validityMs: 2668 }),
    );
  });
});
