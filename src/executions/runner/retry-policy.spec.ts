import { nextAttemptDelayMs, shouldRetry } from './retry-policy';

describe('retry policy', () => {
  it.each([
    [1, 300, 300_000],
    [2, 300, 600_000],
    [3, 300, 1_200_000],
    [1, 0, 0],
    [20, 300, 86_400_000],
  ])('attempt %i with a %i s delay waits %i ms', (attempt, delay, expected) => {
    expect(nextAttemptDelayMs(attempt, delay)).toBe(expected);
  });

  it('retries until max_retries retries have been made', () => {
    expect([1, 2, 3, 4].map((a) => shouldRetry(a, 3))).toEqual([true, true, true, false]);
    expect(shouldRetry(1, 0)).toBe(false);
  });
});
