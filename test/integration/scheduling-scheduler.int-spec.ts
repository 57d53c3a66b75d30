import { Logger } from '@nestjs/common';
import { DateTime } from 'luxon';
import { DataSource } from 'typeorm';
import { Clock, SystemClock } from 'src/common/time/clock';
import { FakeLeaderGate } from '../fakes/fake-leader-gate';
import {
  ExecutionsFacadeAdapter,
  WorkflowsFacadeAdapter,
} from 'src/scheduling/scheduling.adapters';
import { FakeClock, FakeScheduleTenants } from '../fakes/scheduling.fakes';
import {
  SchedulerSettings,
  TickReport,
  WorkflowSchedulerService,
} from 'src/scheduling/workflow-scheduler.service';
import { FakeDownstream, FakeTenantDirectory, makeTenants } from '../fakes/fake-downstream';
import { EngineHarness, startEngine, waitUntil } from '../utils/engine-harness';
import { describeWith } from '../utils/services';
import { createTestDatabase, TestDatabase } from '../utils/test-db';

/**
 * The scheduler on PostgreSQL with the real workflows and executions facades (the engine
 * runs the tenant work against in-process fakes): claims are decided by the database, not
 * by who believes it leads.
 */
describeWith(['postgres'], 'workflow scheduler on PostgreSQL', () => {
  let db: TestDatabase;
  let engine: EngineHarness;
  let ds: DataSource;
  const tenants = makeTenants(3);
  const schedulers: WorkflowSchedulerService[] = [];

  beforeAll(async () => {
    Logger.overrideLogger(['error']);
    db = await createTestDatabase({ migrated: true });
    engine = await startEngine({
      databaseUrl: db.url,
      downstream: new FakeDownstream(1),
      tenants: new FakeTenantDirectory(tenants),
      env: { LOG_LEVEL: 'error' },
    });
    ds = engine.dataSource;
    // only the workflows each test creates are scheduled
    await ds.query(`UPDATE orchestrator_workflows SET is_enabled = FALSE`);
    await ds.query(
      `INSERT INTO orchestrator_leader (id, instance_id, became_leader_at, last_heartbeat_at, term)
       VALUES (1, 'test', NOW(), NOW(), 5)`,
    );
  });

  afterEach(async () => {
    for (const s of schedulers.splice(0)) s.stop();
    await ds.query(`UPDATE orchestrator_workflows SET is_enabled = FALSE`);
  });

  afterAll(async () => {
    await engine?.close();
    await db?.drop();
    Logger.overrideLogger(['log', 'error', 'warn']);
  });

  function scheduler(term: string | null, clock: Clock, settings: Partial<SchedulerSettings> = {}) {
    const s = new WorkflowSchedulerService(
      new FakeLeaderGate(term),
      new WorkflowsFacadeAdapter(engine.workflows),
      new ExecutionsFacadeAdapter(engine.executions, engine.queries),
      new FakeScheduleTenants(tenants),
      clock,
      new SchedulerSettings({ autoStart: false, ...settings }),
    );
    schedulers.push(s);
    return s;
  }

  async function createWorkflow(
    name: string,
    cron: string,
    fields: { next?: Date; overlap?: string } = {},
  ): Promise<string> {
    const [row] = await ds.query(
      `INSERT INTO orchestrator_workflows
         (workflow_name, workflow_type, cron_expression, timezone, steps, next_execution_at, overlap_policy)
       VALUES ($1, 'daily', $2, 'Europe/Madrid', $3, $4, $5) RETURNING id`,
      [
        name,
        cron,
        JSON.stringify([{ name: 'generate_forecasts', operation: 'forecasting.generate' }]),
        fields.next ?? null,
        fields.overlap ?? 'allow',
      ],
    );
    return row.id;
  }

  const parents = (workflowId: string) =>
    ds.query(
      `SELECT scheduled_for, status, execution_type, error_message, leader_term, created_at
         FROM orchestrator_executions
        WHERE workflow_id = $1 AND tenant_id IS NULL ORDER BY scheduled_for`,
      [workflowId],
    ) as Promise<
      {
        scheduled_for: Date;
        status: string;
        execution_type: string;
        error_message: string | null;
        leader_term: string;
        created_at: Date;
      }[]
    >;

  const nextOf = async (workflowId: string): Promise<Date | null> =>
    (
      await ds.query(`SELECT next_execution_at FROM orchestrator_workflows WHERE id = $1`, [
        workflowId,
      ])
    )[0].next_execution_at;

  it('two schedulers racing on the same term: every due slot is claimed once', async () => {
    const clock = new FakeClock(new Date('2026-01-05T06:59:30Z'));
    const id = await createWorkflow('race', '* * * * *');
    const a = scheduler('5', clock);
    const b = scheduler('5', clock);
    await Promise.all([a.tick(), b.tick()]);
    expect(await nextOf(id)).toEqual(new Date('2026-01-05T07:00:00Z'));

    const claims: number[] = [];
    let refusals = 0;
    for (let minute = 0; minute < 10; minute++) {
      clock.set(new Date(Date.parse('2026-01-05T07:00:00.020Z') + minute * 60_000));
      const reports = (await Promise.all([a.tick(), b.tick()])) as TickReport[];
      claims.push(reports.reduce((n, r) => n + r.claimed.length, 0));
      refusals += reports.reduce((n, r) => n + r.refused.length, 0);
    }
    expect(claims).toEqual(Array(10).fill(1));
    // both saw the slot due and tried: the conditional update, not timing, decided
    expect(refusals).toBeGreaterThan(0);
    const runs = await parents(id);
    expect(runs).toHaveLength(10);
    expect(runs.every((r) => r.execution_type === 'scheduled' && r.leader_term === '5')).toBe(true);
    expect(new Set(runs.map((r) => r.scheduled_for.toISOString())).size).toBe(10);
  });

  it('a scheduler holding an old term can neither claim the slot nor create a run', async () => {
    const slot = new Date('2026-01-05T07:00:00Z');
    const id = await createWorkflow('fenced', '0 8 * * *', { next: slot });
    const clock = new FakeClock(new Date('2026-01-05T07:00:00.100Z'));
    const deposed = await scheduler('4', clock).tick();
    expect(deposed?.refused).toEqual([{ workflowId: id, slot }]);
    expect(await parents(id)).toEqual([]);
    expect(await nextOf(id)).toEqual(slot);

    await scheduler('5', clock).tick();
    expect((await parents(id)).map((r) => [r.scheduled_for, r.leader_term])).toEqual([[slot, '5']]);
    expect(await nextOf(id)).toEqual(new Date('2026-01-06T07:00:00Z'));
  });

  it('after a three-day gap with no leader: one catch-up run, the missed slots recorded', async () => {
    const id = await createWorkflow('gap', '0 8 * * *', { next: new Date('2026-01-02T07:00:00Z') });
    const clock = new FakeClock(new Date('2026-01-05T09:00:00Z'));
    const first = scheduler('5', clock);
    await first.tick();
    clock.advance(3000);
    await first.tick();
    // a second instance taking over right after changes nothing
    clock.advance(3000);
    await scheduler('5', clock).tick();

    const rows = await parents(id);
    expect(
      rows.map((r) => [
        r.scheduled_for.toISOString(),
        r.status === 'skipped' ? 'skipped' : 'run',
        r.execution_type,
      ]),
    ).toEqual([
      ['2026-01-02T07:00:00.000Z', 'skipped', 'scheduled'],
      ['2026-01-03T07:00:00.000Z', 'skipped', 'scheduled'],
      ['2026-01-04T07:00:00.000Z', 'skipped', 'scheduled'],
      ['2026-01-05T07:00:00.000Z', 'run', 'catch_up'],
    ]);
    expect(rows[0].error_message).toBe(
      'missed: no leader between 2026-01-02T07:00:00Z and 2026-01-05T09:00:00Z',
    );
    expect(await nextOf(id)).toEqual(new Date('2026-01-06T07:00:00Z'));
  });

  it('a crash between claim and hand-over commits neither: the next scheduler runs the slot once', async () => {
    const id = await createWorkflow('crash', '0 8 * * *', {
      next: new Date('2026-01-03T07:00:00Z'),
    });
    const clock = new FakeClock(new Date('2026-01-05T07:00:00.100Z'));
    const dying = scheduler('5', clock, {
      afterClaim: () => {
        throw new Error('process killed');
      },
    });
    await dying.tick();
    expect(await parents(id)).toEqual([]);
    expect(await nextOf(id)).toEqual(new Date('2026-01-03T07:00:00Z'));

    clock.advance(2000);
    await scheduler('5', clock).tick();
    expect(
      (await parents(id)).map((r) => [r.scheduled_for.toISOString(), r.status === 'skipped']),
    ).toEqual([
      ['2026-01-03T07:00:00.000Z', true],
      ['2026-01-04T07:00:00.000Z', true],
      ['2026-01-05T07:00:00.000Z', false],
    ]);
    expect(await nextOf(id)).toEqual(new Date('2026-01-06T07:00:00Z'));
  });

  it("the database clock decides when a slot is due: a scheduler's fast clock cannot fire early", async () => {
    const [{ now }] = await ds.query(
      `SELECT date_trunc('second', now()) + interval '3 seconds' AS now`,
    );
    const slot = new Date(now);
    // once a day at exactly that second (Madrid time), so no earlier slot exists
    const local = DateTime.fromJSDate(slot, { zone: 'Europe/Madrid' });
    const cron = `${local.second} ${local.minute} ${local.hour} * * *`;
    const id = await createWorkflow('fast_clock', cron, { next: slot });
    // this scheduler's clock is 90 s ahead of the database's
    const fast = new FakeClock(new Date(slot.getTime() + 90_000));
    const early = await scheduler('5', fast, { allowSecondsCron: true }).tick();
    expect(early?.refused).toEqual([{ workflowId: id, slot }]);
    expect(await parents(id)).toEqual([]);
    expect(await nextOf(id)).toEqual(slot);

    const rows = await waitUntil(async () => {
      await scheduler('5', new SystemClock(), { allowSecondsCron: true }).tick();
      const r = await parents(id);
      return r.length > 0 && r;
    }, 10_000);
    expect(rows[0].scheduled_for).toEqual(slot);
    const [{ db_now }] = await ds.query(`SELECT now() AS db_now`);
    expect(rows[0].created_at.getTime()).toBeGreaterThanOrEqual(slot.getTime());
    expect(rows[0].created_at.getTime()).toBeLessThanOrEqual(new Date(db_now).getTime());
  });

  it('a change made through PUT /schedule takes effect on the next pass', async () => {
    const id = await createWorkflow('changed', '0 8 * * *');
    const clock = new FakeClock(new Date('2026-01-05T06:00:00Z'));
    const s = scheduler('5', clock);
    await s.tick();
    expect(await nextOf(id)).toEqual(new Date('2026-01-05T07:00:00Z'));
    await engine.workflows.updateSchedules([
      { workflow: 'changed', cron_expression: '30 9 * * *' },
    ]);
    await s.tick();
    expect(await nextOf(id)).toEqual(new Date('2026-01-05T08:30:00Z'));
  });

  it('with real timers, each slot of a per-second workflow starts within 1 s of its time', async () => {
    const id = await createWorkflow('per_second', '* * * * * *');
    const s = scheduler('5', new SystemClock(), { allowSecondsCron: true, recheckMs: 1000 });
    s.start();
    const runs = await waitUntil(async () => {
      const rows = await parents(id);
      return rows.length >= 4 && rows;
    }, 15_000);
    s.stop();
    const lateness = runs.map((r) => r.created_at.getTime() - r.scheduled_for.getTime());
    expect(lateness.every((ms) => ms >= 0 && ms < 1000)).toBe(true);
    const seconds = runs.map((r) => r.scheduled_for.getTime() / 1000);
    // consecutive seconds: none skipped, none twice
    expect(seconds.slice(1).map((t, i) => t - seconds[i])).toEqual(
      Array(seconds.length - 1).fill(1),
    );
  });
});
