import { ClientsError, ClientsErrorCode } from 'src/clients/clients.errors';
import { mulberry32 as seeded } from 'src/common/random/mulberry32';
import { nextAttemptDelayMs, permanentFailure, shouldRetry } from './retry-policy';
import { upstreamFailure as upstream } from 'test/fakes/upstream-failure';

describe('retry policy', () => {
  describe('nextAttemptDelayMs', () => {
    it.each([
      [1, 300, 300_000],
      [2, 300, 600_000],
      [3, 300, 1_200_000],
      [20, 300, 86_400_000],
    ])(
      'attempt %i with a %i s delay waits below its ceiling of %i ms',
      (attempt, delay, ceiling) => {
        expect(nextAttemptDelayMs(attempt, delay, () => 1 - 1e-9)).toBe(ceiling - 1);
        expect(nextAttemptDelayMs(attempt, delay, () => 0)).toBe(0);
        expect(nextAttemptDelayMs(attempt, delay, () => 0.5)).toBe(ceiling / 2);
      },
    );

    it('waits nothing when retry_delay_seconds is 0', () => {
      expect(nextAttemptDelayMs(1, 0, () => 0.7)).toBe(0);
    });

    it('spreads 10,000 tenants that failed together over the whole window', () => {
      const random = seeded(42);
      const delays = Array.from({ length: 10_000 }, () => nextAttemptDelayMs(1, 300, random));
      const seconds = new Set(delays.map((d) => Math.floor(d / 1000)));
      expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...delays)).toBeLessThan(300_000);
      // 300 one-second buckets, each hit; none holds more than 2 % of the tenants
      expect(seconds.size).toBe(300);
      const perSecond = new Map<number, number>();
      for (const d of delays) {
        const s = Math.floor(d / 1000);
        perSecond.set(s, (perSecond.get(s) ?? 0) + 1);
      }
      expect(Math.max(...perSecond.values())).toBeLessThan(200);
    });
  });

  it('retries until max_retries retries have been made', () => {
    expect([1, 2, 3, 4].map((a) => shouldRetry(a, 3))).toEqual([true, true, true, false]);
    expect(shouldRetry(1, 0)).toBe(false);
  });

  describe('permanentFailure', () => {
    it('is undefined when every failure may pass', () => {
      expect(permanentFailure([upstream(503), upstream(502)])).toBeUndefined();
    });

    it('names the failure no retry can fix', () => {
      const refused = upstream(400);
      expect(permanentFailure([upstream(503), refused])).toBe(refused);
      const invalid = new ClientsError(ClientsErrorCode.INVALID_PARAMS, 'params.days_ahead');
      expect(permanentFailure([invalid])).toBe(invalid);
    });
  });
});
