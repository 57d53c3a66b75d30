import { RunDeadlines } from './run-deadlines';

/** Resolves once `n` calls of the returned function have been made. */
function countdown(n: number) {
  let left = n;
  let done!: () => void;
  const all = new Promise<void>((resolve) => (done = resolve));
  return {
    all,
    tick: () => {
      left--;
      if (left === 0) done();
    },
  };
}

describe('RunDeadlines', () => {
  it("gives a run's tenants one deadline between them, and each is told when it passes", async () => {
    const deadlines = new RunDeadlines();
    const at = Date.now() + 20;
    const expired = countdown(100);
    // each tenant its own callback, as the dispatcher gives them
    for (let i = 0; i < 100; i++) deadlines.watch(at, 20, () => expired.tick());

    expect(deadlines.size).toBe(1);
    await expired.all;
    expect(deadlines.size).toBe(0);
  });

  it('keeps one deadline per instant: two runs, two deadlines', () => {
    const deadlines = new RunDeadlines();
    const stops = [
      deadlines.watch(1_000, 60_000, () => undefined),
      deadlines.watch(1_000, 60_000, () => undefined),
      deadlines.watch(2_000, 60_000, () => undefined),
    ];

    expect(deadlines.size).toBe(2);
    for (const stop of stops) stop();
    expect(deadlines.size).toBe(0);
  });

  it('does not call a tenant that stopped waiting, and still calls the others', async () => {
    const deadlines = new RunDeadlines();
    const at = Date.now() + 20;
    const called: string[] = [];
    const expired = countdown(1);
    const stopA = deadlines.watch(at, 20, () => called.push('a'));
    deadlines.watch(at, 20, () => {
      called.push('b');
      expired.tick();
    });
    stopA();

    await expired.all;
    expect(called).toEqual(['b']);
  });

  it('lets a deadline go once no tenant waits on it, and starts it again for a later one', async () => {
    const deadlines = new RunDeadlines();
    const at = Date.now() + 20;
    let early = 0;
    const stop = deadlines.watch(at, 20, () => early++);
    stop();
    stop(); // twice is harmless
    expect(deadlines.size).toBe(0);

    const expired = countdown(1);
    deadlines.watch(at, 20, expired.tick);
    expect(deadlines.size).toBe(1);
    await expired.all;
    expect(early).toBe(0);
  });
});
