import { backoffCeilingMs, backoffDelayMs, parseRetryAfterMs } from './backoff';

const settings = { initialDelayMs: 100, maxDelayMs: 2000, multiplier: 2 };

describe('backoffCeilingMs', () => {
  it.each([
    [1, 100],
    [2, 200],
    [3, 400],
    [4, 800],
    [5, 1600],
    [6, 2000],
    [20, 2000],
  ])('retry %i may wait up to %i ms', (retry, ceiling) => {
    expect(backoffCeilingMs(retry, settings)).toBe(ceiling);
  });
});

describe('backoffDelayMs', () => {
  it('draws uniformly below the ceiling (full jitter)', () => {
    expect(backoffDelayMs(3, settings, () => 0)).toBe(0);
    expect(backoffDelayMs(3, settings, () => 0.5)).toBe(200);
    expect(backoffDelayMs(3, settings, () => 0.999999)).toBe(399);
  });

  it('grows with the retry number on average and never passes the cap', () => {
    let seed = 1;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const mean = (retry: number) => {
      let sum = 0;
      for (let i = 0; i < 2000; i++) {
        const d = backoffDelayMs(retry, settings, random);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(settings.maxDelayMs);
        sum += d;
      }
      return sum / 2000;
    };
    const means = [1, 2, 3, 4, 5].map(mean);
    for (let i = 1; i < means.length; i++) expect(means[i]).toBeGreaterThan(means[i - 1] * 1.6);
    expect(mean(12)).toBeLessThan(settings.maxDelayMs / 2 + 100);
  });
});

describe('parseRetryAfterMs', () => {
  const now = Date.parse('2025-11-26T08:00:00Z');

  it.each([
    ['2', 2000],
    [' 0 ', 0],
    ['Wed, 26 Nov 2025 08:00:05 GMT', 5000],
    ['Wed, 26 Nov 2025 07:59:00 GMT', 0],
  ])('reads %j as %i ms', (value, ms) => {
    expect(parseRetryAfterMs(value, now)).toBe(ms);
  });

  it.each([[undefined], ['soon'], ['-3']])('ignores %j', (value) => {
    expect(parseRetryAfterMs(value, now)).toBeUndefined();
  });
});
