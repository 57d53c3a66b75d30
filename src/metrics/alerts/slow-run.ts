/** What decides whether a run is slow (ALERT_SLOW_RUN_* settings). */
export interface SlowRunRule {
  /** a run is slow above factor x the median of the recent completed runs */
  factor: number;
  /** fewer completed runs than this say nothing about what is normal: no verdict */
  minRuns: number;
  /** never slow below this, whatever the median: a 3 s run is not worth waking anyone */
  floorMs: number;
}

export interface SlowVerdict {
  median_ms: number;
  expected_ms: number;
  factor: number;
  floor_ms: number;
  history: number;
}

/**
 * The slow-run verdict of a run of `durationMs` against the durations of the workflow's
 * recent completed runs (ms): null when it is not slow or when history is too short.
 * The threshold is max(floor, factor x median), in milliseconds so that sub-second runs
 * do not make a median of 0.
 */
export function slowRunVerdict(
  durationMs: number,
  historyMs: number[],
  rule: SlowRunRule,
): SlowVerdict | null {
  if (historyMs.length < rule.minRuns || historyMs.length === 0) return null;
  const sorted = [...historyMs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  const expected = Math.max(rule.floorMs, median * rule.factor);
  if (durationMs <= expected) return null;
  return {
    median_ms: Math.round(median),
    expected_ms: Math.round(expected),
    factor: rule.factor,
    floor_ms: rule.floorMs,
    history: historyMs.length,
  };
}
