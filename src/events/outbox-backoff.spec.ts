import { outboxRetryDelayMs, unroutableRetryDelayMs } from './outbox-backoff';

describe('outboxRetryDelayMs', () => {
  it.each([
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [5, 16000],
    [6, 30000],
    [50, 30000],
    [10_000, 30000],
  ])('after %i failed attempts waits %i ms', (attempts, expected) => {
    expect(outboxRetryDelayMs(attempts)).toBe(expected);
  });

  it('follows the given base and cap', () => {
    expect(outboxRetryDelayMs(1, { baseMs: 50, maxMs: 300 })).toBe(50);
    expect(outboxRetryDelayMs(3, { baseMs: 50, maxMs: 300 })).toBe(200);
    expect(outboxRetryDelayMs(4, { baseMs: 50, maxMs: 300 })).toBe(300);
  });

  it('treats zero or negative attempts as the first', () => {
    expect(outboxRetryDelayMs(0)).toBe(1000);
    expect(outboxRetryDelayMs(-3)).toBe(1000);
  });
});

describe('unroutableRetryDelayMs', () => {
  it.each([
    [1, 0, 0],
    [1, 0.5, 1000],
    [1, 0.999, 1998],
    [3, 0.5, 4000],
    [10, 0.5, 30000],
    [10, 0.999, 59940],
  ])('after %i returns with a draw of %f waits %i ms', (attempts, draw, expected) => {
    expect(unroutableRetryDelayMs(attempts, undefined, () => draw)).toBe(expected);
  });
});
