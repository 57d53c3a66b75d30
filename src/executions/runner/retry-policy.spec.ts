import { ClientsError, ClientsErrorCode } from 'src/clients/clients.errors';
import { UpstreamError, UpstreamErrorCode } from 'src/clients/http/upstream.error';
import { nextAttemptDelayMs, permanentFailure, shouldRetry } from './retry-policy';

/** A seeded source (mulberry32): the same sequence on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
    const upstream = (status: number) =>
      new UpstreamError({
        service: 'production',
        operation: 'production.generate_schedule',
        code: UpstreamErrorCode.HTTP_ERROR,
        retryable: status >= 500,
        status,
      });

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
