import { decideOverlap, OverlapInput } from './overlap';

const D = (s: string) => new Date(s);
const STARTED = D('2026-01-05T07:00:01Z');
const run = (leaseLapsed = false) => ({ executionId: 'run-1', startedAt: STARTED, leaseLapsed });
const base: OverlapInput = {
  policy: 'skip',
  run: run(),
  leaderSince: D('2026-01-05T06:00:00Z'),
  databaseUnreachableAt: null,
};

describe(decideOverlap.name, () => {
  it.each<[string, Partial<OverlapInput>, { runInProgress: boolean; policy: string }]>([
    [
      'no run in progress: nothing overlaps',
      { run: null },
      { runInProgress: false, policy: 'skip' },
    ],
    ['a run that is only long: skip stays skip', {}, { runInProgress: true, policy: 'skip' }],
    [
      'leadership changed during the run: the slot waits',
      { leaderSince: D('2026-01-05T07:20:00Z') },
      { runInProgress: true, policy: 'buffer_one' },
    ],
    [
      'leadership began before the run: no outage',
      { leaderSince: D('2026-01-05T07:00:00Z') },
      { runInProgress: true, policy: 'skip' },
    ],
    [
      'database unreachable during the run: the slot waits',
      { databaseUnreachableAt: D('2026-01-05T07:30:00Z') },
      { runInProgress: true, policy: 'buffer_one' },
    ],
    [
      'database unreachable before the run: no outage of this run',
      { databaseUnreachableAt: D('2026-01-05T06:59:59Z') },
      { runInProgress: true, policy: 'skip' },
    ],
    [
      'a lapsed tenant lease: the slot waits',
      { run: run(true) },
      { runInProgress: true, policy: 'buffer_one' },
    ],
    [
      'buffer_one is never changed',
      { policy: 'buffer_one', leaderSince: D('2026-01-05T07:20:00Z') },
      { runInProgress: true, policy: 'buffer_one' },
    ],
    [
      'allow is never changed',
      { policy: 'allow', run: run(true) },
      { runInProgress: true, policy: 'allow' },
    ],
  ])('%s', (_, overrides, expected) => {
    expect(decideOverlap({ ...base, ...overrides })).toMatchObject(expected);
  });

  it('says which outage made the slot wait', () => {
    expect(
      decideOverlap({ ...base, databaseUnreachableAt: D('2026-01-05T07:30:00Z') }).outage,
    ).toBe('the database was unreachable during the run (at 2026-01-05T07:30:00.000Z)');
    expect(decideOverlap(base).outage).toBeNull();
  });
});
