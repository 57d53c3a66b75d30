import { IANAZone } from 'luxon';
import { CachedZone, cachedZone } from './cached-zone';
import { runSteps, runStepsCooperatively, Steps } from './steps';

describe('CachedZone', () => {
  // zones with 1 h, 30 min (Lord Howe) and historical odd transitions, and one with none
  const zones = ['Europe/Madrid', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata'];

  it.each(zones)('gives IANAZone offsets every 37 minutes across 2026 in %s', (name) => {
    const cached = new CachedZone(name);
    const plain = IANAZone.create(name);
    const start = Date.UTC(2026, 0, 1);
    for (let ts = start; ts < start + 366 * 86_400_000; ts += 37 * 60_000 + 13_000) {
      // twice: the first call fills the cache, the second reads it
      expect([cached.offset(ts), cached.offset(ts)]).toEqual([plain.offset(ts), plain.offset(ts)]);
    }
  });

  it('is exact on both sides of a transition inside a cached hour boundary', () => {
    const zone = new CachedZone('Europe/Madrid');
    const change = Date.UTC(2026, 2, 29, 1); // 02:00 CET -> 03:00 CEST
    expect(zone.offset(change - 1)).toBe(60);
    expect(zone.offset(change)).toBe(120);
    const lordHowe = new CachedZone('Australia/Lord_Howe');
    const half = Date.UTC(2026, 3, 4, 15); // 02:00 +11 -> 01:30 +10:30
    expect([lordHowe.offset(half - 1), lordHowe.offset(half)]).toEqual([660, 630]);
  });

  it('shares one instance per valid name and keeps none for an invalid one', () => {
    expect(cachedZone('Europe/Madrid')).toBe(cachedZone('Europe/Madrid'));
    expect(cachedZone('Not/AZone').isValid).toBe(false);
    expect(cachedZone('Not/AZone')).not.toBe(cachedZone('Not/AZone'));
  });
});

describe('steps', () => {
  function* count(n: number): Steps<number> {
    let done = 0;
    for (let i = 0; i < n; i++) {
      yield;
      done++;
    }
    return done;
  }

  it('runSteps drives to the result', () => {
    expect(runSteps(count(5))).toBe(5);
  });

  it('runStepsCooperatively lets timers run between slices, runSteps does not', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    // 30 units of at least 2 ms each: however the machine schedules this process, a 5 ms
    // slice ends after at most 3 units, so the cooperative run yields at least 9 times
    function* busy(): Steps<string> {
      for (let unit = 0; unit < 30; unit++) {
        const until = performance.now() + 2;
        while (performance.now() < until);
        yield;
      }
      return 'done';
    }
    try {
      expect(runSteps(busy())).toBe('done');
      const blocked = ticks;
      expect(await runStepsCooperatively(busy(), 5)).toBe('done');
      // 60 ms of work at once leaves the timer no turn; in 5 ms slices it gets some
      expect(blocked).toBe(0);
      expect(ticks).toBeGreaterThan(0);
    } finally {
      clearInterval(timer);
    }
  });
});
