import { Logger } from '@nestjs/common';
import { FakeLeaderGate } from 'test/fakes/fake-leader-gate';
import {
  FakeClock,
  FakeScheduleTenants,
  InMemoryScheduleExecutions,
  InMemoryScheduleWorkflows,
  scheduledWorkflow,
  tenant,
} from 'test/fakes/scheduling.fakes';
import { SchedulerSettings, WorkflowSchedulerService } from './workflow-scheduler.service';
import { ScheduledWorkflow } from './scheduling.ports';

const D = (s: string) => new Date(s);

function setup(
  options: { now?: string; term?: string | null; settings?: Partial<SchedulerSettings> } = {},
) {
  const clock = new FakeClock(D(options.now ?? '2026-01-05T06:00:00Z'));
  const leader = new FakeLeaderGate(options.term === undefined ? '1' : options.term);
  const workflows = new InMemoryScheduleWorkflows();
  const executions = new InMemoryScheduleExecutions();
  const tenants = new FakeScheduleTenants();
  const scheduler = new WorkflowSchedulerService(
    leader,
    workflows,
    executions,
    tenants,
    clock,
    new SchedulerSettings({ autoStart: false, ...options.settings }),
  );
  return { clock, leader, workflows, executions, tenants, scheduler };
}

describe(WorkflowSchedulerService.name, () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn', 'debug', 'verbose']));

  it('sets next_execution_at of a workflow that has none to its next slot', async () => {
    const { workflows, scheduler } = setup();
    const wf = workflows.add(scheduledWorkflow());
    await scheduler.tick();
    expect(workflows.row(wf.id).nextExecutionAt).toEqual(D('2026-01-05T07:00:00Z'));
  });

  it('claims a due slot, advances next_execution_at and starts the run with its term', async () => {
    const { clock, workflows, executions, scheduler } = setup({ term: '7' });
    workflows.leaderTerm = '7';
    const wf = workflows.add(scheduledWorkflow({ nextExecutionAt: D('2026-01-05T07:00:00Z') }));
    clock.set('2026-01-05T07:00:00.050Z');
    const report = await scheduler.tick();
    expect(report?.claimed).toEqual([
      { workflowId: wf.id, slot: D('2026-01-05T07:00:00Z'), next: D('2026-01-06T07:00:00Z') },
    ]);
    expect(executions.runs).toEqual([
      expect.objectContaining({
        workflowId: wf.id,
        scheduledFor: D('2026-01-05T07:00:00Z'),
        executionType: 'scheduled',
        leaderTerm: '7',
      }),
    ]);
    expect(workflows.row(wf.id).nextExecutionAt).toEqual(D('2026-01-06T07:00:00Z'));
  });

  it('does nothing before the slot', async () => {
    const { clock, workflows, executions, scheduler } = setup();
    workflows.add(scheduledWorkflow({ nextExecutionAt: D('2026-01-05T07:00:00Z') }));
    clock.set('2026-01-05T06:59:59.900Z');
    await scheduler.tick();
    expect(executions.byKey.size).toBe(0);
  });

  it('runs a slot once however many passes follow', async () => {
    const { clock, workflows, executions, scheduler } = setup();
    workflows.add(scheduledWorkflow({ nextExecutionAt: D('2026-01-05T07:00:00Z') }));
    clock.set('2026-01-05T07:00:00.010Z');
    for (let i = 0; i < 5; i++) {
      await scheduler.tick();
      clock.advance(1000);
    }
    expect(executions.runs).toHaveLength(1);
  });

  it('does nothing on a follower', async () => {
    const { clock, workflows, executions, scheduler } = setup({ term: null });
    const wf = workflows.add(scheduledWorkflow({ nextExecutionAt: D('2026-01-05T07:00:00Z') }));
    clock.set('2026-01-05T07:00:01Z');
    expect(await scheduler.tick()).toBeUndefined();
    expect(executions.byKey.size).toBe(0);
    expect(workflows.row(wf.id).nextExecutionAt).toEqual(D('2026-01-05T07:00:00Z'));
  });

  it('starts nothing when a newer term refuses the claim (fencing)', async () => {
    const { clock, workflows, executions, scheduler } = setup({ term: '4' });
    workflows.leaderTerm = '5';
    const wf = workflows.add(scheduledWorkflow({ nextExecutionAt: D('2026-01-05T07:00:00Z') }));
    clock.set('2026-01-05T07:00:01Z');
    const report = await scheduler.tick();
    expect(report?.refused).toEqual([{ workflowId: wf.id, slot: D('2026-01-05T07:00:00Z') }]);
    expect(executions.byKey.size).toBe(0);
    expect(workflows.row(wf.id).nextExecutionAt).toEqual(D('2026-01-05T07:00:00Z'));
  });

  it('catches up once after a three-day outage and records the missed slots', async () => {
    const { clock, workflows, executions, scheduler } = setup();
    workflows.add(scheduledWorkflow({ nextExecutionAt: D('2026-01-02T07:00:00Z') }));
    clock.set('2026-01-05T09:00:00Z');
    await scheduler.tick();
    clock.advance(5000);
    await scheduler.tick();
    expect(executions.runs.map((r) => [r.scheduledFor.toISOString(), r.executionType])).toEqual([
      ['2026-01-05T07:00:00.000Z', 'catch_up'],
    ]);
    expect(executions.skips.map((s) => [s.scheduledFor.toISOString(), s.reason])).toEqual([
      [
        '2026-01-02T07:00:00.000Z',
        'missed: no leader between 2026-01-02T07:00:00Z and 2026-01-05T09:00:00Z',
      ],
      [
        '2026-01-03T07:00:00.000Z',
        'missed: no leader between 2026-01-02T07:00:00Z and 2026-01-05T09:00:00Z',
      ],
      [
        '2026-01-04T07:00:00.000Z',
        'missed: no leader between 2026-01-02T07:00:00Z and 2026-01-05T09:00:00Z',
      ],
    ]);
  });

  it('rolls the claim back with a hand-over that failed, and runs the slot on the next pass', async () => {
    const { clock, workflows, executions, scheduler } = setup();
    const wf = workflows.add(scheduledWorkflow({ nextExecutionAt: D('2026-01-05T07:00:00Z') }));
    clock.set('2026-01-05T07:00:00.010Z');
    executions.failNext = 1;
    await scheduler.tick();
    expect(executions.byKey.size).toBe(0);
    expect(workflows.row(wf.id).nextExecutionAt).toEqual(D('2026-01-05T07:00:00Z'));
    clock.advance(2000);
    await scheduler.tick();
    expect(executions.runs.map((r) => r.scheduledFor)).toEqual([D('2026-01-05T07:00:00Z')]);
    expect(workflows.row(wf.id).nextExecutionAt).toEqual(D('2026-01-06T07:00:00Z'));
  });

  it('loses nothing when the process dies between claim and hand-over: the next leader runs the slot once', async () => {
    const dying = setup({
      settings: {
        afterClaim: () => {
          throw new Error('killed');
        },
      },
    });
    const wf = dying.workflows.add(
      scheduledWorkflow({
        cronExpression: '0 * * * *',
        nextExecutionAt: D('2026-01-05T06:00:00Z'),
      }),
    );
    dying.clock.set('2026-01-05T07:00:00.010Z'); // 06:00 missed, 07:00 due: one skip, one run
    await dying.scheduler.tick();
    expect(dying.executions.byKey.size).toBe(0);
    expect(dying.workflows.row(wf.id).nextExecutionAt).toEqual(D('2026-01-05T06:00:00Z'));

    const next = setup({ term: '2', now: '2026-01-05T07:00:03Z' });
    next.workflows.leaderTerm = '2';
    next.workflows.add(dying.workflows.row(wf.id));
    await next.scheduler.tick();
    await next.scheduler.tick();
    expect(
      next.executions.runs.map((r) => [r.scheduledFor.toISOString(), r.executionType]),
    ).toEqual([['2026-01-05T07:00:00.000Z', 'scheduled']]);
    expect(next.executions.skips.map((r) => r.scheduledFor.toISOString())).toEqual([
      '2026-01-05T06:00:00.000Z',
    ]);
  });

  it('claims nothing while the tenants cannot be listed, and runs the slot once they can', async () => {
    const { clock, workflows, executions, scheduler } = setup();
    const wf = workflows.add(scheduledWorkflow({ nextExecutionAt: D('2026-01-05T07:00:00Z') }));
    clock.set('2026-01-05T07:00:00.010Z');
    executions.failPrepare = new Error('tenant service unavailable');
    await scheduler.tick();
    expect(workflows.row(wf.id).nextExecutionAt).toEqual(D('2026-01-05T07:00:00Z'));
    executions.failPrepare = null;
    clock.advance(2000);
    await scheduler.tick();
    expect(executions.runs.map((r) => r.executionType)).toEqual(['scheduled']);
  });

  describe('database clock', () => {
    it('fires nothing before the database clock reaches the slot, however fast its own clock', async () => {
      const { clock, workflows, executions, scheduler } = setup();
      const wf = workflows.add(scheduledWorkflow({ nextExecutionAt: D('2026-01-05T07:00:00Z') }));
      clock.set('2026-01-05T07:00:00.010Z');
      workflows.databaseNow = D('2026-01-05T06:58:30.010Z'); // this clock is 90 s fast
      const report = await scheduler.tick();
      expect(report?.refused).toEqual([{ workflowId: wf.id, slot: D('2026-01-05T07:00:00Z') }]);
      expect(executions.byKey.size).toBe(0);
      expect(workflows.row(wf.id).nextExecutionAt).toEqual(D('2026-01-05T07:00:00Z'));

      workflows.databaseNow = D('2026-01-05T07:00:00Z');
      await scheduler.tick();
      expect(executions.runs.map((r) => r.scheduledFor)).toEqual([D('2026-01-05T07:00:00Z')]);
    });

    it('stamps what it hands over with its clock, and re-measures it before each pass', async () => {
      const { clock, workflows, executions, scheduler } = setup();
      const maxAges: number[] = [];
      Object.assign(clock, {
        measureIfOlder: async (maxAgeMs: number) => void maxAges.push(maxAgeMs),
      });
      workflows.add(scheduledWorkflow({ nextExecutionAt: D('2026-01-05T07:00:00Z') }));
      clock.set('2026-01-05T07:00:00.010Z');
      await scheduler.tick();
      expect(executions.stampedAt).toEqual([D('2026-01-05T07:00:00.010Z')]);
      expect(maxAges).toEqual([new SchedulerSettings().clockMaxAgeMs]);
    });
  });

  describe('overlap', () => {
    /** leading since 06:00; the previous run started at 06:30 and is still running */
    function leadingThroughRun() {
      const t = setup({ now: '2026-01-05T06:00:00Z' });
      const wf = t.workflows.add(scheduledWorkflow({ nextExecutionAt: D('2026-01-05T07:00:00Z') }));
      return { ...t, wf };
    }
    const started = async (t: ReturnType<typeof leadingThroughRun>) => {
      await t.scheduler.tick();
      t.executions.running = true;
      t.executions.runStartedAt = D('2026-01-05T06:30:00Z');
    };

    it('skip: records the slot skipped while the previous run is running', async () => {
      const t = leadingThroughRun();
      const { clock, executions, scheduler } = t;
      await started(t);
      clock.set('2026-01-05T07:00:00.010Z');
      await scheduler.tick();
      expect(executions.skips.map((s) => s.reason)).toEqual([
        'overlap: the previous run is still running',
      ]);
      expect(executions.runs).toHaveLength(0);
    });

    it('buffer_one: waits for the previous run, then runs the slot', async () => {
      const { clock, workflows, executions, scheduler } = setup();
      const wf = workflows.add(
        scheduledWorkflow({
          cronExpression: '0 * * * *',
          overlapPolicy: 'buffer_one',
          nextExecutionAt: D('2026-01-05T10:00:00Z'),
        }),
      );
      executions.running = true;
      clock.set('2026-01-05T10:00:00.010Z');
      await scheduler.tick();
      expect(executions.byKey.size).toBe(0);
      expect(workflows.row(wf.id).nextExecutionAt).toEqual(D('2026-01-05T10:00:00Z'));
      executions.running = false;
      clock.set('2026-01-05T10:04:00Z');
      await scheduler.tick();
      expect(executions.runs.map((r) => [r.scheduledFor.toISOString(), r.executionType])).toEqual([
        ['2026-01-05T10:00:00.000Z', 'catch_up'],
      ]);
      expect(workflows.row(wf.id).nextExecutionAt).toEqual(D('2026-01-05T11:00:00Z'));
    });

    it('skip: a run late because the leader changed during it makes the slot wait, not skip', async () => {
      const t = leadingThroughRun();
      await started(t);
      // a new leader (term 2) since 06:45, after the run started
      t.leader.lead('2');
      t.workflows.leaderTerm = '2';
      t.clock.set('2026-01-05T06:45:00Z');
      await t.scheduler.tick();
      t.clock.set('2026-01-05T07:00:00.010Z');
      await t.scheduler.tick();
      expect(t.executions.byKey.size).toBe(0);
      expect(t.workflows.row(t.wf.id).nextExecutionAt).toEqual(D('2026-01-05T07:00:00Z'));
      t.executions.running = false;
      t.clock.set('2026-01-05T07:20:00Z');
      await t.scheduler.tick();
      expect(t.executions.runs.map((r) => [r.scheduledFor.toISOString(), r.executionType])).toEqual(
        [['2026-01-05T07:00:00.000Z', 'catch_up']],
      );
      expect(t.executions.skips).toEqual([]);
    });

    it('skip: a run late because the database was unreachable during it makes the slot wait', async () => {
      const t = leadingThroughRun();
      await started(t);
      const list = t.workflows.listSchedulable.bind(t.workflows);
      t.workflows.listSchedulable = () => Promise.reject(new Error('connection refused'));
      t.clock.set('2026-01-05T06:40:00Z');
      await t.scheduler.tick();
      t.workflows.listSchedulable = list;
      t.clock.set('2026-01-05T07:00:00.010Z');
      await t.scheduler.tick();
      expect(t.executions.byKey.size).toBe(0);
      t.executions.running = false;
      t.clock.advance(2000);
      await t.scheduler.tick();
      expect(t.executions.runs.map((r) => r.executionType)).toEqual(['scheduled']);
    });

    it('skip: a run whose tenant lease lapsed makes the slot wait, even once the lease is taken over', async () => {
      const t = leadingThroughRun();
      await started(t);
      t.executions.leaseLapsed = true;
      t.clock.set('2026-01-05T07:00:00.010Z');
      await t.scheduler.tick();
      t.executions.leaseLapsed = false; // another instance took the tenant over
      t.clock.advance(2000);
      await t.scheduler.tick();
      expect(t.executions.byKey.size).toBe(0);
      t.executions.running = false;
      t.clock.advance(2000);
      await t.scheduler.tick();
      expect(t.executions.runs).toHaveLength(1);
    });

    it('skip: a slot kept waiting by an outage is recorded skipped once past its catch-up window', async () => {
      const t = leadingThroughRun();
      await started(t);
      t.executions.leaseLapsed = true;
      t.clock.set('2026-01-05T07:00:00.010Z');
      await t.scheduler.tick();
      t.executions.running = false;
      t.clock.set('2026-01-05T19:00:00Z'); // daily: catch-up window 6 h
      await t.scheduler.tick();
      expect(t.executions.runs).toEqual([]);
      expect(t.executions.skips.map((r) => r.scheduledFor.toISOString())).toEqual([
        '2026-01-05T07:00:00.000Z',
      ]);
    });

    it('allow: runs beside the previous run without asking', async () => {
      const { clock, workflows, executions, scheduler } = setup();
      workflows.add(
        scheduledWorkflow({ overlapPolicy: 'allow', nextExecutionAt: D('2026-01-05T07:00:00Z') }),
      );
      executions.running = true;
      clock.set('2026-01-05T07:00:00.010Z');
      await scheduler.tick();
      expect(executions.runs).toHaveLength(1);
    });
  });

  describe('per tenant timezone', () => {
    const perTenant = (overrides: Partial<ScheduledWorkflow> = {}) =>
      scheduledWorkflow({ perTenantTimezone: true, ...overrides });

    it('sets next_execution_at to the earliest slot over the tenant zones', async () => {
      const { workflows, tenants, scheduler } = setup({ now: '2026-01-05T07:30:00Z' });
      tenants.tenants = [
        tenant('t1', 'Europe/Madrid', { country: 'ES', region: 'MD' }),
        tenant('t2', 'Atlantic/Canary', { country: 'ES', region: 'CN' }),
      ];
      const wf = workflows.add(perTenant());
      await scheduler.tick();
      // 08:00 Madrid (07:00Z) has passed; 08:00 Canary is 08:00Z
      expect(workflows.row(wf.id).nextExecutionAt).toEqual(D('2026-01-05T08:00:00Z'));
    });

    it("runs each zone's slot for its tenants only, by timezone", async () => {
      const { clock, workflows, executions, tenants, scheduler } = setup();
      tenants.tenants = [
        tenant('t1', 'Europe/Madrid', { country: 'ES', region: 'MD' }),
        tenant('t2', 'Atlantic/Canary', { country: 'ES', region: 'CN' }),
        tenant('t3', 'Europe/Lisbon', { country: 'PT' }),
      ];
      workflows.add(perTenant({ nextExecutionAt: D('2026-01-05T07:00:00Z') }));
      clock.set('2026-01-05T07:00:00.010Z');
      await scheduler.tick();
      clock.set('2026-01-05T08:00:00.010Z');
      await scheduler.tick();
      expect(executions.runs.map((r) => [r.scheduledFor.toISOString(), r.tenantFilter])).toEqual([
        ['2026-01-05T07:00:00.000Z', { timezones: ['Europe/Madrid'] }],
        ['2026-01-05T08:00:00.000Z', { timezones: ['Atlantic/Canary', 'Europe/Lisbon'] }],
      ]);
    });

    it("selects by tenant id when a region's holiday leaves part of a zone out", async () => {
      const { clock, workflows, executions, tenants, scheduler } = setup();
      tenants.tenants = [
        tenant('md', 'Europe/Madrid', { country: 'ES', region: 'MD' }),
        tenant('ct', 'Europe/Madrid', { country: 'ES', region: 'CT' }),
      ];
      workflows.add(
        perTenant({ holidayPolicy: 'skip', nextExecutionAt: D('2025-05-02T06:00:00Z') }),
      );
      clock.set('2025-05-02T06:00:00.010Z');
      await scheduler.tick();
      expect(executions.runs.map((r) => r.tenantFilter)).toEqual([{ tenantIds: ['ct'] }]);
    });

    it('pulls next_execution_at forward when a tenant in an earlier zone appears', async () => {
      const { clock, workflows, tenants, scheduler } = setup({
        now: '2026-01-05T08:30:00Z',
        settings: { tenantCacheMs: 0 },
      });
      tenants.tenants = [tenant('t1', 'Europe/Madrid', { country: 'ES', region: 'MD' })];
      const wf = workflows.add(perTenant({ nextExecutionAt: D('2026-01-06T07:00:00Z') }));
      tenants.tenants.push(tenant('t2', 'America/New_York', { country: 'US' }));
      clock.advance(1000);
      await scheduler.tick();
      expect(workflows.row(wf.id).nextExecutionAt).toEqual(D('2026-01-05T13:00:00Z'));
    });

    it('keeps scheduling on the last tenant list while the tenant service is down', async () => {
      const { clock, workflows, executions, tenants, scheduler } = setup({
        settings: { tenantCacheMs: 0 },
      });
      tenants.tenants = [tenant('t1', 'Europe/Madrid', { country: 'ES', region: 'MD' })];
      workflows.add(perTenant());
      await scheduler.tick();
      tenants.failure = new Error('tenant service down');
      clock.set('2026-01-05T07:00:00.010Z');
      await scheduler.tick();
      expect(executions.runs.map((r) => r.tenantFilter)).toEqual([
        { timezones: ['Europe/Madrid'] },
      ]);
    });
  });

  it('leaves a workflow with an unusable stored schedule alone and schedules the others', async () => {
    const { workflows, scheduler } = setup();
    const bad = workflows.add(
      scheduledWorkflow({ id: 'bad', workflowName: 'bad', cronExpression: '0 8 * *' }),
    );
    const good = workflows.add(scheduledWorkflow({ id: 'good', workflowName: 'good' }));
    await scheduler.tick();
    expect(workflows.row(bad.id).nextExecutionAt).toBeNull();
    expect(workflows.row(good.id).nextExecutionAt).toEqual(D('2026-01-05T07:00:00Z'));
  });

  it('accepts a seconds cron only when configured to', async () => {
    const strict = setup();
    const wf = strict.workflows.add(scheduledWorkflow({ cronExpression: '* * * * * *' }));
    await strict.scheduler.tick();
    expect(strict.workflows.row(wf.id).nextExecutionAt).toBeNull();

    const bench = setup({ settings: { allowSecondsCron: true } });
    bench.workflows.add(scheduledWorkflow({ cronExpression: '* * * * * *' }));
    await bench.scheduler.tick();
    expect(bench.workflows.row(wf.id).nextExecutionAt).toEqual(D('2026-01-05T06:00:01Z'));
  });

  it('never rejects when a facade fails', async () => {
    const { workflows, scheduler } = setup();
    workflows.listSchedulable = () => Promise.reject(new Error('connection refused'));
    await expect(scheduler.tick()).resolves.toBeUndefined();
  });

  it('takes a definition change made elsewhere on its next pass (version bump, next cleared)', async () => {
    const { clock, workflows, executions, scheduler } = setup();
    const wf = workflows.add(scheduledWorkflow());
    await scheduler.tick();
    // PUT /schedule on another instance: 09:00 instead of 08:00
    Object.assign(workflows.row(wf.id), {
      cronExpression: '0 9 * * *',
      version: 2,
      nextExecutionAt: null,
    });
    await scheduler.tick();
    expect(workflows.row(wf.id).nextExecutionAt).toEqual(D('2026-01-05T08:00:00Z'));
    clock.set('2026-01-05T08:00:00.010Z');
    await scheduler.tick();
    expect(executions.runs.map((r) => r.scheduledFor)).toEqual([D('2026-01-05T08:00:00Z')]);
  });
});
