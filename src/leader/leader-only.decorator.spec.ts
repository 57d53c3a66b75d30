import { Injectable, Logger, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Cron, ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import { Test } from '@nestjs/testing';
import { LeaderGate } from './leader-gate';
import { LeaderOnly } from './leader-only.decorator';
import { LeaderOnlyExplorer } from './leader-only.explorer';
import { LeaderErrorCode } from './leader.errors';
import { FakeLeaderGate } from 'test/fakes/fake-leader-gate';

class HourlyJob {
  readonly terms: string[] = [];
  /** when set, run() waits for it before finishing */
  gate: Promise<void> | null = null;
  failWith: Error | null = null;

  constructor(readonly leader: LeaderGate) {}

  @LeaderOnly()
  async run(term: string): Promise<string> {
    this.terms.push(term);
    if (this.failWith) throw this.failWith;
    if (this.gate) await this.gate;
    return `done under ${term}`;
  }
}

describe('LeaderOnly', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('runs on the leader and passes the fencing term', async () => {
    const job = new HourlyJob(new FakeLeaderGate('7'));

    await expect(job.run('ignored')).resolves.toBe('done under 7');
    expect(job.terms).toEqual(['7']);
  });

  it('skips on a follower without running', async () => {
    const job = new HourlyJob(new FakeLeaderGate(null));

    await expect(job.run('ignored')).resolves.toBeUndefined();
    expect(job.terms).toEqual([]);
  });

  it('skips a call while the previous run on this instance is still going', async () => {
    const job = new HourlyJob(new FakeLeaderGate('3'));
    let release!: () => void;
    job.gate = new Promise<void>((resolve) => (release = resolve));
    const first = job.run('x');

    await expect(job.run('x')).resolves.toBeUndefined();
    release();
    await expect(first).resolves.toBe('done under 3');
    expect(job.terms).toEqual(['3']);
  });

  it('logs a failure instead of rejecting', async () => {
    const job = new HourlyJob(new FakeLeaderGate('3'));
    job.failWith = new Error('tenant service down');

    await expect(job.run('x')).resolves.toBeUndefined();
    expect(job.terms).toEqual(['3']);
  });
});

describe('LeaderOnly with @nestjs/schedule', () => {
  @Injectable()
  class CronBelow {
    runs: string[] = [];
    constructor(readonly leader: LeaderGate) {}

    @Cron('0 0 1 1 *', { name: 'cron-below' })
    @LeaderOnly()
    async tick(term: string): Promise<void> {
      this.runs.push(term);
    }
  }

  @Injectable()
  class CronAbove {
    runs: string[] = [];
    constructor(readonly leader: LeaderGate) {}

    @LeaderOnly()
    @Cron('0 0 1 1 *', { name: 'cron-above' })
    async tick(term: string): Promise<void> {
      this.runs.push(term);
    }
  }

  it.each([
    ['cron-below', CronBelow],
    ['cron-above', CronAbove],
  ] as const)(
    'registers %s whichever decorator comes first, and runs it only while leading',
    async (name, Job) => {
      const gate = new FakeLeaderGate('5');
      const moduleRef = await Test.createTestingModule({
        imports: [ScheduleModule.forRoot()],
        providers: [Job, { provide: LeaderGate, useValue: gate }],
      }).compile();
      await moduleRef.init();
      try {
        const cron = moduleRef.get(SchedulerRegistry).getCronJob(name);
        const job = moduleRef.get<CronBelow | CronAbove>(Job);

        await cron.fireOnTick();
        gate.follow();
        await cron.fireOnTick();

        expect(job.runs).toEqual(['5']);
      } finally {
        await moduleRef.close();
      }
    },
  );
});

describe(LeaderOnlyExplorer.name, () => {
  @Injectable()
  class GateLess {
    @LeaderOnly()
    async sweep(): Promise<void> {}
  }

  @Injectable()
  class Gated {
    constructor(readonly leader: LeaderGate) {}

    @LeaderOnly()
    async sweep(): Promise<void> {}
  }

  async function boot(provider: new (...args: never[]) => unknown) {
    @Module({
      imports: [DiscoveryModule],
      providers: [
        provider,
        LeaderOnlyExplorer,
        { provide: LeaderGate, useValue: new FakeLeaderGate() },
      ],
    })
    class Probe {}
    const moduleRef = await Test.createTestingModule({ imports: [Probe] }).compile();
    try {
      await moduleRef.init();
    } finally {
      await moduleRef.close();
    }
  }

  it('refuses to boot when a @LeaderOnly() class does not inject LeaderGate', async () => {
    await expect(boot(GateLess)).rejects.toEqual(
      expect.objectContaining({
        code: LeaderErrorCode.GateMissing,
        message: expect.stringContaining('GateLess.sweep'),
      }),
    );
  });

  it('boots when it does', async () => {
    await expect(boot(Gated)).resolves.toBeUndefined();
  });
});
