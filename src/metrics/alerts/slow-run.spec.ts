import { slowRunVerdict } from './slow-run';

const RULE = { factor: 2, minRuns: 5, floorMs: 60_000 };

describe('slowRunVerdict', () => {
  it('stays quiet for a 3 s run against a 2.5 s median (below the floor)', () => {
    expect(slowRunVerdict(3000, [2500, 2500, 2400, 2600, 2500], RULE)).toBeNull();
  });

  it('stays quiet below factor x median even when that is above the floor', () => {
    expect(slowRunVerdict(150_000, Array(5).fill(100_000), RULE)).toBeNull();
  });

  it('gives no verdict with fewer completed runs than minRuns', () => {
    expect(slowRunVerdict(600_000, Array(4).fill(10_000), RULE)).toBeNull();
  });

  it('fires over both the floor and factor x median, with the figures', () => {
    expect(slowRunVerdict(250_000, [100_000, 90_000, 110_000, 100_000, 100_000], RULE)).toEqual({
      median_ms: 100_000,
      expected_ms: 200_000,
      factor: 2,
      floor_ms: 60_000,
      history: 5,
    });
  });

  it('uses the floor as the threshold when factor x median is below it', () => {
    const history = Array(6).fill(1000);
    expect(slowRunVerdict(59_000, history, RULE)).toBeNull();
    expect(slowRunVerdict(61_000, history, RULE)?.expected_ms).toBe(60_000);
  });
});
