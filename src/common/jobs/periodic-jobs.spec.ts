import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { FakeLeaderGate } from 'test/fakes/fake-leader-gate';
import { PeriodicJobError, PeriodicJobs } from './periodic-jobs';

/** A run that stays in progress until released. */
function held<T>(value: T) {
  let release: () => void = () => {};
  const run = jest.fn(
    (_term?: string) => new Promise<T>((resolve) => (release = () => resolve(value))),
  );
  return { run, release: () => release() };
}

describe(PeriodicJobs.name, () => {
  let registry: SchedulerRegistry;
  let gate: FakeLeaderGate;
  let jobs: PeriodicJobs;

  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn']));

  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-03-02T10:00:00Z') });
    registry = new SchedulerRegistry();
    gate = new FakeLeaderGate('7');
    jobs = new PeriodicJobs(registry, gate);
  });

  afterEach(() => {
    jobs.onModuleDestroy();
    jest.useRealTimers();
  });

  describe('register', () => {
    it('runs an interval job every period and lists it in the SchedulerRegistry by name', async () => {
      const run = jest.fn(async () => 'done');
      jobs.register('housekeeping', { everyMs: 1000 }, { leaderOnly: false, run });

      expect(registry.getIntervals()).toEqual(['housekeeping']);
      await jest.advanceTimersByTimeAsync(3000);
      expect(run).toHaveBeenCalledTimes(3);
    });

    it('runs a cron job at its expression in its timezone', async () => {
      const run = jest.fn(async () => undefined);
      const job = jobs.register(
        'rollup',
        { cron: '15 0 * * *', timeZone: 'Europe/Madrid' },
        { leaderOnly: true, run },
      );

      expect(registry.doesExist('cron', 'rollup')).toBe(true);
      // 00:15 in Madrid (CET, UTC+1) is 23:15 UTC
      expect(job.nextRunAt()).toEqual(new Date('2026-03-02T23:15:00Z'));
      await jest.advanceTimersByTimeAsync(13 * 3600_000 + 15 * 60_000);
      expect(run).toHaveBeenCalledTimes(1);
    });

    it('refuses a cron expression that does not parse, before anything runs', () => {
      expect(() =>
        jobs.register('bad', { cron: 'every hour' }, { leaderOnly: false, run: async () => 1 }),
      ).toThrow();
    });

    it('refuses the same name twice', () => {
      jobs.register('a', { everyMs: 1000 }, { leaderOnly: false, run: async () => 1 });
      expect(() =>
        jobs.register('a', { everyMs: 1000 }, { leaderOnly: false, run: async () => 1 }),
      ).toThrow(/"a" is defined twice/);
    });

    it('refuses a leader-only job in a process without a LeaderGate, naming the fix', () => {
      const noGate = new PeriodicJobs(registry);
      expect(() =>
        noGate.register('x', { everyMs: 1000 }, { leaderOnly: true, run: async () => 1 }),
      ).toThrow(PeriodicJobError);
      expect(() =>
        noGate.register('y', { everyMs: 1000 }, { leaderOnly: true, run: async () => 1 }),
      ).toThrow(/import LeaderModule, or define it with leaderOnly: false/);
    });
  });

  describe('runNow', () => {
    it('runs a leader-only job on the leader with its fencing term', async () => {
      const run = jest.fn(async (term: string) => `ran with ${term}`);
      const job = jobs.define('j', { everyMs: 1000 }, { leaderOnly: true, run });

      expect(await job.runNow()).toBe('ran with 7');
    });

    it('leaves a leader-only job to the leader on a follower', async () => {
      const run = jest.fn(async () => 1);
      const job = jobs.define('j', { everyMs: 1000 }, { leaderOnly: true, run });
      gate.follow();

      expect(await job.runNow()).toBeUndefined();
      expect(run).not.toHaveBeenCalled();
    });

    it('runs an every-instance job on a follower too', async () => {
      gate.follow();
      const job = jobs.define('j', { everyMs: 1000 }, { leaderOnly: false, run: async () => 1 });

      expect(await job.runNow()).toBe(1);
    });

    it('skips a tick while the previous run is still going', async () => {
      const { run, release } = held('first');
      const job = jobs.define('j', { everyMs: 1000 }, { leaderOnly: false, run });

      const first = job.runNow();
      expect(await job.runNow()).toBeUndefined();
      release();
      expect(await first).toBe('first');
      expect(run).toHaveBeenCalledTimes(1);
    });

    it('with run-again, runs once more after a run that ticks arrived during', async () => {
      const { run: firstRun, release } = held('first');
      const run = jest.fn(firstRun).mockImplementation(async () => 'second');
      run.mockImplementationOnce(firstRun);
      const job = jobs.define(
        'j',
        { everyMs: 1000 },
        { leaderOnly: false, overlap: 'run-again', run },
      );

      const first = job.runNow();
      expect(await job.runNow()).toBeUndefined();
      expect(await job.runNow()).toBeUndefined();
      release();
      expect(await first).toBe('second');
      expect(run).toHaveBeenCalledTimes(2);
    });

    it('logs a failure with structured fields and resolves, never rejects', async () => {
      const error = jest.fn();
      Logger.overrideLogger({ error, log: jest.fn(), warn: jest.fn(), debug: jest.fn() });
      const job = jobs.define(
        'flaky',
        { everyMs: 1000 },
        {
          leaderOnly: false,
          run: async () => {
            throw new Error('database down');
          },
        },
      );

      await expect(job.runNow()).resolves.toBeUndefined();
      expect(error).toHaveBeenCalledTimes(1);
      expect(error.mock.calls[0][0]).toEqual(
        expect.objectContaining({ job: 'flaky', error: 'database down' }),
      );
      Logger.overrideLogger(false);
    });

    it('keeps ticking after a failed run', async () => {
      const run = jest.fn().mockRejectedValueOnce(new Error('once')).mockResolvedValue(1);
      jobs.register('j', { everyMs: 1000 }, { leaderOnly: false, run });

      await jest.advanceTimersByTimeAsync(2000);
      expect(run).toHaveBeenCalledTimes(2);
    });
  });

  describe('wakeIn', () => {
    it('runs once more at the given delay, replacing a pending wake', async () => {
      const run = jest.fn(async () => 1);
      const job = jobs.register('j', { everyMs: 60_000 }, { leaderOnly: false, run });

      job.wakeIn(500);
      job.wakeIn(300);
      expect(registry.getTimeouts()).toEqual(['j.wake']);
      await jest.advanceTimersByTimeAsync(1000);
      expect(run).toHaveBeenCalledTimes(1);
      expect(registry.getTimeouts()).toEqual([]);
    });

    it('does nothing on a job that is not started', async () => {
      const run = jest.fn(async () => 1);
      const job = jobs.define('j', { everyMs: 60_000 }, { leaderOnly: false, run });

      job.wakeIn(10);
      await jest.advanceTimersByTimeAsync(100);
      expect(run).not.toHaveBeenCalled();
    });
  });

  describe('onModuleDestroy', () => {
    it('stops every job and removes it from the SchedulerRegistry', async () => {
      const run = jest.fn(async () => 1);
      jobs.register('interval', { everyMs: 1000 }, { leaderOnly: false, run });
      jobs.register('cron', { cron: '* * * * *' }, { leaderOnly: false, run });
      jobs.get('interval')!.wakeIn(10);

      jobs.onModuleDestroy();

      expect(registry.getIntervals()).toEqual([]);
      expect(registry.getCronJobs().size).toBe(0);
      expect(registry.getTimeouts()).toEqual([]);
      await jest.advanceTimersByTimeAsync(120_000);
      expect(run).not.toHaveBeenCalled();
    });
  });
});
