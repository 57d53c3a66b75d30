import { runStatus } from './run-completer';

describe('runStatus', () => {
  it.each([
    [10_000, 10_000, 'completed'],
    [10_000, 9_999, 'completed'],
    [10_000, 1, 'completed'],
    [10_000, 0, 'failed'],
    [1, 0, 'failed'],
    [0, 0, 'completed'],
  ])('%i tenants, %i succeeded: %s', (tenants, succeeded, expected) => {
    expect(runStatus({ tenants, succeeded })).toBe(expected);
  });
});
