import { Client } from 'pg';
import { IdempotencyService } from 'src/common/idempotency/idempotency.service';
import { PeriodicJobs } from 'src/common/jobs/periodic-jobs';
import { ExecutionsRepository } from 'src/executions/executions.repository';
import { LEASE_RENEW_JOB } from 'src/executions/runner/execution-dispatcher';
import { WorkflowsService } from 'src/workflows/workflows.service';
import { DataSource } from 'typeorm';
import { FakeDownstream, FakeTenantDirectory, makeTenants } from '../../fakes/fake-downstream';
import { EngineHarness, startEngine, waitUntil } from '../../utils/engine-harness';
import { describeWith } from '../../utils/services';
import { createTestDatabase, TestDatabase } from '../../utils/test-db';

const DAILY_ORDER = [
  'generate_forecasts',
  'calculate_production',
  'calculate_procurement',
  'project_inventory',
  'validate_forecasts',
  'send_summary',
];
const DEPENDS: Record<string, string[]> = {
  calculate_production: ['generate_forecasts'],
  calculate_procurement: ['calculate_production'],
  project_inventory: ['calculate_procurement'],
  validate_forecasts: ['generate_forecasts'],
  send_summary: ['project_inventory', 'validate_forecasts'],
};
const OPERATION_OF: Record<string, string> = {
  'forecasting.generate': 'generate_forecasts',
  'production.generate_schedule': 'calculate_production',
  'procurement.calculate_needs': 'calculate_procurement',
  'inventory.project': 'project_inventory',
  'forecasting.validate': 'validate_forecasts',
  'notification.daily_summary': 'send_summary',
};

async function runStatus(ds: DataSource, id: string) {
  const [row] = await ds.query(
    `SELECT status, result_summary, error_message FROM orchestrator_executions WHERE id = $1`,
    [id],
  );
  return row as {
    status: string;
    result_summary: Record<string, number>;
    error_message: string | null;
  };
}

const finished = (ds: DataSource, id: string) =>
  waitUntil(async () => {
    const r = await runStatus(ds, id);
    return ['completed', 'failed'].includes(r.status) && r;
  });

/** Locks the step table until released: inserts wait behind it, so no step row is written. */
async function blockStepRows(databaseUrl: string) {
  const blocker = new Client({ connectionString: databaseUrl });
  await blocker.connect();
  await blocker.query('BEGIN');
  await blocker.query(`LOCK TABLE orchestrator_execution_steps IN SHARE MODE`);
  return {
    /** a query of the blocking session (which sees what is committed) */
    query: async <R>(text: string, params: unknown[] = []): Promise<R[]> =>
      (await blocker.query(text, params)).rows as R[],
    release: async () => {
      await blocker.query('ROLLBACK');
      await blocker.end();
    },
  };
}

/**
 * A fresh database and an engine on it for the describe block that calls it (before all
 * its tests), both gone after them.
 */
function engineOnFreshDatabase(
  downstream: FakeDownstream,
  tenants: FakeTenantDirectory,
  env: Record<string, string>,
) {
  const ctx = {} as { db: TestDatabase; engine: EngineHarness };
  beforeAll(async () => {
    ctx.db = await createTestDatabase({ migrated: true });
    ctx.engine = await startEngine({ databaseUrl: ctx.db.url, downstream, tenants, env });
  });
  afterAll(async () => {
    await ctx.engine?.close();
    await ctx.db?.drop();
  });
  return ctx;
}

describeWith(['postgres'], 'workflow engine on PostgreSQL', () => {
  const downstream = new FakeDownstream(3);
  const tenants = new FakeTenantDirectory(makeTenants(24, { inactive: 4 }));
  const active = tenants.tenants.filter((t) => t.status === 'active');
  const ctx = engineOnFreshDatabase(downstream, tenants, { EXECUTION_CONCURRENCY: '8' });
  let engine: EngineHarness;
  beforeAll(() => (engine = ctx.engine));

  beforeEach(() => downstream.reset());

  it('runs every step of every active tenant exactly once, in dependency order', async () => {
    const slot = new Date('2026-11-30T07:00:00Z');
    const started = await engine.executions.startRun({
      workflowId: 'daily_operations',
      scheduledFor: slot,
      executionType: 'scheduled',
      leaderTerm: null,
    });
    expect(started).toEqual({ outcome: 'started', executionId: expect.any(String), tenants: 20 });
    const run = await finished(engine.dataSource, started.executionId);

    expect(run.status).toBe('completed');
    expect(run.result_summary).toMatchObject({
      tenants_total: 24,
      tenants_selected: 20,
      tenants_skipped: { suspended: 2, cancelled: 2 },
      tenants_processed: 20,
      tenants_succeeded: 20,
      steps_completed: 120,
      steps_failed: 0,
    });
    expect(downstream.calls).toHaveLength(20 * 6);
    for (const tenant of active) {
      const calls = downstream.callsOf(tenant.id);
      expect(calls.map((c) => OPERATION_OF[c.operation]).sort()).toEqual([...DAILY_ORDER].sort());
      for (const call of calls) {
        for (const dep of DEPENDS[OPERATION_OF[call.operation]] ?? []) {
          const before = calls.find((c) => OPERATION_OF[c.operation] === dep)!;
          expect(before.endedAt).toBeLessThanOrEqual(call.startedAt);
        }
      }
      expect(new Set(calls.map((c) => c.idempotencyKey)).size).toBe(6);
    }
    const events = await engine.dataSource.query(
      `SELECT routing_key, payload FROM orchestrator_outbox`,
    );
    expect(events).toEqual([
      {
        routing_key: 'orchestrator.workflow_completed',
        payload: expect.objectContaining({
          event_type: 'orchestrator_workflow_completed',
          workflow_name: 'daily_operations',
          execution_id: started.executionId,
          tenants_processed: 20,
          steps_completed: 120,
          steps_failed: 0,
          event_id: expect.any(String),
        }),
      },
    ]);
  });

  it("starts a step's dependents while its row commits, and records rows in dependency order", async () => {
    const tenant = active[5];
    const blocker = await blockStepRows(ctx.db.url);
    let execution: { execution_id: string };
    try {
      execution = (await engine.executions.executeManually(
        'daily_operations',
        { tenant_ids: [tenant.id], allow_concurrent: true },
        null,
      )) as { execution_id: string };
      // every call is made, although not one row could be written yet
      await waitUntil(async () => downstream.callsOf(tenant.id).length === 6);
      const [{ n }] = await blocker.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM orchestrator_execution_steps s
           JOIN orchestrator_executions e ON e.id = s.execution_id
          WHERE e.parent_execution_id = $1`,
        [execution.execution_id],
      );
      expect(n).toBe(0);
      expect((await runStatus(engine.dataSource, execution.execution_id)).status).toBe('running');
    } finally {
      await blocker.release();
    }
    expect((await finished(engine.dataSource, execution.execution_id)).status).toBe('completed');
    // a row is committed with or after those of the steps it depends on, never before
    const rows: { step_name: string; status: string; tx: string }[] = await engine.dataSource.query(
      `SELECT s.step_name, s.status, s.xmin::text AS tx FROM orchestrator_execution_steps s
         JOIN orchestrator_executions e ON e.id = s.execution_id
        WHERE e.parent_execution_id = $1`,
      [execution.execution_id],
    );
    expect(rows.map((r) => r.step_name).sort()).toEqual([...DAILY_ORDER].sort());
    expect(rows.every((r) => r.status === 'completed')).toBe(true);
    const tx = new Map(rows.map((r) => [r.step_name, BigInt(r.tx)]));
    for (const [step, deps] of Object.entries(DEPENDS))
      for (const dep of deps) expect(tx.get(dep)! <= tx.get(step)!).toBe(true);
  });

  it('creates a slot once however often it is started', async () => {
    const slot = new Date('2026-11-29T07:00:00Z');
    const req = {
      workflowId: 'weekly_digest',
      scheduledFor: slot,
      executionType: 'scheduled' as const,
      leaderTerm: null,
    };
    const results = await Promise.all([
      engine.executions.startRun(req),
      engine.executions.startRun(req),
    ]);
    const ids = new Set(results.map((r) => r.executionId));
    expect(ids.size).toBe(1);
    await finished(engine.dataSource, [...ids][0]);
    const [{ n }] = await engine.dataSource.query(
      `SELECT count(*)::int AS n FROM orchestrator_executions e JOIN orchestrator_workflows w ON w.id = e.workflow_id
        WHERE w.workflow_name = 'weekly_digest' AND e.scheduled_for = $1`,
      [slot],
    );
    expect(n).toBe(21);
    expect(downstream.calls).toHaveLength(20);
  });

  it('retries a failing tenant without repeating its completed steps, then marks it failed while the run completes', async () => {
    await engine.workflows.update('daily_operations', { max_retries: 2, retry_delay_seconds: 0 });
    const victim = active[3];
    downstream.when((ctx) =>
      ctx.tenant.id === victim.id && ctx.stepName === 'calculate_production' ? 'fail' : 'ok',
    );
    const started = await engine.executions.startRun({
      workflowId: 'daily_operations',
      scheduledFor: new Date('2026-11-28T07:00:00Z'),
      executionType: 'scheduled',
      leaderTerm: null,
    });
    const run = await finished(engine.dataSource, started.executionId);

    // the seed's semantics: one tenant of 20 failing does not fail the run
    expect(run.status).toBe('completed');
    expect(run.result_summary).toMatchObject({
      tenants_succeeded: 19,
      tenants_failed: 1,
      steps_failed: 1,
      retries: 2,
    });
    const victimCalls = downstream.callsOf(victim.id).map((c) => OPERATION_OF[c.operation]);
    expect(victimCalls.filter((s) => s === 'generate_forecasts')).toHaveLength(1);
    expect(victimCalls.filter((s) => s === 'validate_forecasts')).toHaveLength(1);
    expect(victimCalls.filter((s) => s === 'calculate_production')).toHaveLength(3);
    expect(victimCalls).not.toContain('send_summary');
    const [child] = await engine.dataSource.query(
      `SELECT status, attempt, error_message FROM orchestrator_executions WHERE parent_execution_id = $1 AND tenant_id = $2`,
      [started.executionId, victim.id],
    );
    expect(child).toEqual({
      status: 'failed',
      attempt: 3,
      error_message: expect.stringContaining('calculate_production'),
    });
    const [event] = await engine.dataSource.query(
      `SELECT payload FROM orchestrator_outbox WHERE payload->>'execution_id' = $1`,
      [started.executionId],
    );
    expect(event.payload).toMatchObject({
      event_type: 'orchestrator_workflow_completed',
      tenants_processed: 20,
      steps_failed: 1,
      tenants_failed: 1,
      tenants_succeeded: 19,
    });

    // retry re-runs only that tenant, from its failed step
    downstream.reset();
    const retried = await engine.executions.retry(started.executionId, null);
    expect(retried).toMatchObject({ retry_of_execution_id: started.executionId, tenants: 1 });
    const again = await finished(engine.dataSource, retried.execution_id);
    expect(again.status).toBe('completed');
    expect(downstream.calls.map((c) => c.tenantId)).toEqual(Array(4).fill(victim.id));
    expect(downstream.calls.map((c) => OPERATION_OF[c.operation]).sort()).toEqual(
      ['calculate_production', 'calculate_procurement', 'project_inventory', 'send_summary'].sort(),
    );
    await engine.workflows.update('daily_operations', { max_retries: 3, retry_delay_seconds: 300 });
  });

  it('cancels what is still running when the run exceeds max_execution_time_seconds', async () => {
    await engine.workflows.update('weekly_digest', { max_execution_time_seconds: 1 });
    const slow = active.slice(0, 3).map((t) => t.id);
    downstream.when((ctx) => (slow.includes(ctx.tenant.id) ? 'hang' : 'ok'));
    const started = await engine.executions.startRun({
      workflowId: 'weekly_digest',
      scheduledFor: new Date('2026-11-22T08:00:00Z'),
      executionType: 'scheduled',
      leaderTerm: null,
    });
    const run = await finished(engine.dataSource, started.executionId);
    expect(run.status).toBe('completed');
    expect(run.result_summary).toMatchObject({ tenants_succeeded: 17, tenants_cancelled: 3 });
    const cancelled = await engine.dataSource.query(
      `SELECT error_message FROM orchestrator_executions WHERE parent_execution_id = $1 AND status = 'cancelled'`,
      [started.executionId],
    );
    expect(cancelled).toEqual(
      Array(3).fill({ error_message: 'cancelled: exceeded max_execution_time_seconds (1 s)' }),
    );
    expect(
      downstream.calls
        .filter((c) => c.outcome === 'aborted')
        .map((c) => c.tenantId)
        .sort(),
    ).toEqual([...slow].sort());
  });

  it('backfills a skipped slot once, and a failed one only for the tenants that did not complete', async () => {
    const slot = new Date('2026-11-15T08:00:00Z');
    const request = { workflowId: 'weekly_digest', scheduledFor: slot, leaderTerm: null };
    await engine.executions.recordSkippedSlot({
      ...request,
      reason: 'missed: no leader between a and b',
    });
    const first = await engine.executions.startRun({ ...request, executionType: 'backfill' });
    expect(first).toMatchObject({ outcome: 'started', tenants: 20 });
    // a second call while it runs, and another once it is done, create nothing
    expect(
      await engine.executions.startRun({ ...request, executionType: 'backfill' }),
    ).toMatchObject({ outcome: 'duplicate' });
    await finished(engine.dataSource, first.executionId);
    expect(
      await engine.executions.startRun({ ...request, executionType: 'backfill' }),
    ).toMatchObject({ outcome: 'duplicate' });
    expect(downstream.calls).toHaveLength(20);

    // a slot whose run two tenants failed: the backfill runs those two only
    await engine.workflows.update('weekly_digest', {
      max_retries: 0,
      max_execution_time_seconds: 3600,
    });
    const losers = active.slice(5, 7).map((t) => t.id);
    downstream.when((ctx) => (losers.includes(ctx.tenant.id) ? 'fail' : 'ok'));
    const failedSlot = { ...request, scheduledFor: new Date('2026-11-08T08:00:00Z') };
    const run = await engine.executions.startRun({ ...failedSlot, executionType: 'scheduled' });
    expect((await finished(engine.dataSource, run.executionId)).result_summary).toMatchObject({
      tenants_failed: 2,
    });
    downstream.reset();
    const backfill = await engine.executions.startRun({ ...failedSlot, executionType: 'backfill' });
    expect(backfill).toMatchObject({ outcome: 'started', tenants: 2 });
    expect((await finished(engine.dataSource, backfill.executionId)).status).toBe('completed');
    expect(downstream.calls.map((c) => c.tenantId).sort()).toEqual([...losers].sort());
  });

  it('backfills a failed daily slot from the steps its failed tenant completed, and only those it did not', async () => {
    await engine.workflows.update('daily_operations', { max_retries: 0, retry_delay_seconds: 0 });
    const victim = active[3];
    downstream.when((ctx) =>
      ctx.tenant.id === victim.id && ctx.stepName === 'calculate_procurement' ? 'fail' : 'ok',
    );
    const slot = {
      workflowId: 'daily_operations',
      scheduledFor: new Date('2026-10-11T07:00:00Z'),
      leaderTerm: null,
    };
    const run = await engine.executions.startRun({ ...slot, executionType: 'scheduled' });
    expect((await finished(engine.dataSource, run.executionId)).result_summary).toMatchObject({
      tenants_failed: 1,
    });
    downstream.reset();

    const backfill = await engine.executions.startRun({ ...slot, executionType: 'backfill' });
    expect(backfill).toMatchObject({ outcome: 'started', tenants: 1 });
    expect((await finished(engine.dataSource, backfill.executionId)).status).toBe('completed');
    // generate_forecasts, calculate_production and validate_forecasts completed in the run:
    // the backfill's tenant execution starts with them and calls only the rest
    expect(downstream.calls.map((c) => [c.tenantId, OPERATION_OF[c.operation]]).sort()).toEqual(
      ['calculate_procurement', 'project_inventory', 'send_summary'].map((step) => [
        victim.id,
        step,
      ]),
    );
    await engine.workflows.update('daily_operations', { max_retries: 3, retry_delay_seconds: 300 });
  });

  describe('commands under an Idempotency-Key whose process dies after their commit', () => {
    const underKey = (key: string, target: string, body: unknown) => ({
      route: `POST ${key}`,
      target,
      subject: 'test-operator',
      key,
      body,
      status: 202,
    });
    /** Runs `command` under `key`, but never returns once it has: its process died. */
    const dyingAfter = async (
      key: ReturnType<typeof underKey>,
      command: () => Promise<unknown>,
    ) => {
      let done: unknown;
      void engine.app.get(IdempotencyService).run(key, async () => {
        done = await command();
        return new Promise<never>(() => undefined);
      });
      await waitUntil(async () => done !== undefined);
      return done;
    };

    it('answers a repeated execute with the run it started, and starts no other', async () => {
      const tenant = active[7];
      const body = { tenant_ids: [tenant.id], allow_concurrent: true };
      const key = underKey('execute-crash', 'daily_operations', body);
      const execute = () => engine.executions.executeManually('daily_operations', body, null);
      const first = await dyingAfter(key, execute);
      // the repeat comes before the first's lock ran out: without the answer stored with the
      // run it would wait and get a 409, and after the lock it would start a second run
      const again = await engine.app.get(IdempotencyService).run(key, execute, 300);
      expect(again).toEqual({ status: 202, body: first, replayed: true });
      const [{ n }] = await engine.dataSource.query(
        `SELECT count(*)::int AS n FROM orchestrator_executions
          WHERE execution_type = 'manual' AND tenant_id = $1`,
        [tenant.id],
      );
      expect(n).toBe(1);
    });

    it('answers a repeated retry with the retry it started, and starts no other', async () => {
      const victim = active[8];
      downstream.when((ctx) =>
        ctx.tenant.id === victim.id && ctx.stepName === 'send_summary' ? 'refuse' : 'ok',
      );
      const started = await engine.executions.startRun({
        workflowId: 'daily_operations',
        scheduledFor: new Date('2026-10-03T07:00:00Z'),
        executionType: 'scheduled',
        leaderTerm: null,
      });
      await finished(engine.dataSource, started.executionId);
      const key = underKey('retry-crash', started.executionId, {});
      const retry = () => engine.executions.retry(started.executionId, null);
      const first = await dyingAfter(key, retry);
      const again = await engine.app.get(IdempotencyService).run(key, retry, 300);
      expect(again).toEqual({ status: 202, body: first, replayed: true });
      const [{ n }] = await engine.dataSource.query(
        `SELECT count(*)::int AS n FROM orchestrator_executions
          WHERE retry_of_execution_id = $1 AND tenant_id IS NULL`,
        [started.executionId],
      );
      expect(n).toBe(1);
    });
  });

  it('fails a tenant at once on a permanent 400: one call, no tenant retry, a clear error', async () => {
    await engine.workflows.update('daily_operations', { max_retries: 3, retry_delay_seconds: 0 });
    const victim = active[2];
    downstream.when((ctx) =>
      ctx.tenant.id === victim.id && ctx.stepName === 'calculate_production' ? 'refuse' : 'ok',
    );
    const started = await engine.executions.startRun({
      workflowId: 'daily_operations',
      scheduledFor: new Date('2026-10-04T07:00:00Z'),
      executionType: 'scheduled',
      leaderTerm: null,
    });
    const run = await finished(engine.dataSource, started.executionId);
    expect(run.status).toBe('completed');
    expect(run.result_summary).toMatchObject({ tenants_failed: 1, retries: 0 });
    const production = downstream
      .callsOf(victim.id)
      .filter((c) => c.operation === 'production.generate_schedule');
    expect(production).toHaveLength(1);
    const [child] = await engine.dataSource.query(
      `SELECT status, attempt, next_attempt_at, error_message FROM orchestrator_executions
        WHERE parent_execution_id = $1 AND tenant_id = $2`,
      [started.executionId, victim.id],
    );
    expect(child).toMatchObject({ status: 'failed', attempt: 1, next_attempt_at: null });
    expect(child.error_message).toMatch(
      /^calculate_production: .*answered 400.*not retried: a retry cannot succeed/,
    );
    await engine.workflows.update('daily_operations', { max_retries: 3, retry_delay_seconds: 300 });
  });

  it('fails the run only when every tenant failed, with workflow_failed', async () => {
    await engine.workflows.update('weekly_digest', { max_retries: 0 });
    downstream.when(() => 'fail');
    const started = await engine.executions.startRun({
      workflowId: 'weekly_digest',
      scheduledFor: new Date('2026-11-01T08:00:00Z'),
      executionType: 'scheduled',
      leaderTerm: null,
    });
    const run = await finished(engine.dataSource, started.executionId);
    expect(run.status).toBe('failed');
    expect(run.result_summary).toMatchObject({ tenants_succeeded: 0, tenants_failed: 20 });
    const [event] = await engine.dataSource.query(
      `SELECT routing_key, payload FROM orchestrator_outbox WHERE payload->>'execution_id' = $1`,
      [started.executionId],
    );
    expect(event.routing_key).toBe('orchestrator.workflow_failed');
    expect(event.payload).toMatchObject({ tenants_affected: 20 });
  });

  it('sends one idempotency key per (workflow, slot, tenant, step) across tenant retries and a manual retry', async () => {
    await engine.workflows.update('daily_operations', { max_retries: 1, retry_delay_seconds: 0 });
    const victim = active[4];
    downstream.when((ctx) =>
      ctx.tenant.id === victim.id && ctx.stepName === 'send_summary' ? 'fail' : 'ok',
    );
    const slot = new Date('2026-10-05T07:00:00Z');
    const started = await engine.executions.startRun({
      workflowId: 'daily_operations',
      scheduledFor: slot,
      executionType: 'scheduled',
      leaderTerm: null,
    });
    expect(started.outcome).toBe('started');
    await finished(engine.dataSource, started.executionId);
    const keysOf = () =>
      downstream
        .callsOf(victim.id)
        .filter((c) => c.operation === 'notification.daily_summary')
        .map((c) => c.idempotencyKey);
    const engineAttempts = keysOf();
    downstream.reset();
    const retried = await engine.executions.retry(started.executionId, null);
    await finished(engine.dataSource, retried.execution_id);
    const manual = keysOf();

    // two tenant attempts in the run, one in the manual retry (a new execution row): one key
    expect(engineAttempts).toHaveLength(2);
    expect(manual).toHaveLength(1);
    expect(new Set([...engineAttempts, ...manual]).size).toBe(1);
    const summaries = downstream.calls.filter((c) => c.operation === 'notification.daily_summary');
    // the key the engine used for this step on both tenant attempts of the first run
    const [{ id: workflowId }] = await engine.dataSource.query(
      `SELECT id FROM orchestrator_workflows WHERE workflow_name = 'daily_operations'`,
    );
    const { stepIdempotencyKey } = await import('src/executions/runner/step-key');
    expect(summaries[0].idempotencyKey).toBe(
      stepIdempotencyKey({
        workflowId,
        scheduledFor: slot,
        tenantId: victim.id,
        stepName: 'send_summary',
      }),
    );
    await engine.workflows.update('daily_operations', { max_retries: 3, retry_delay_seconds: 300 });
  });
});

describeWith(['postgres'], 'workflow engine on PostgreSQL, one tenant at a time', () => {
  const downstream = new FakeDownstream(3);
  const tenants = new FakeTenantDirectory(makeTenants(3));
  const ctx = engineOnFreshDatabase(downstream, tenants, { EXECUTION_CONCURRENCY: '1' });
  let engine: EngineHarness;
  beforeAll(() => (engine = ctx.engine));

  it("gives a tenant's slot to the next one once its calls are done, while its rows wait to commit, up to twice as many", async () => {
    const blocker = await blockStepRows(ctx.db.url);
    let execution: { execution_id: string };
    try {
      execution = (await engine.executions.executeManually(
        'daily_operations',
        { allow_concurrent: true },
        null,
      )) as { execution_id: string };
      // the second tenant makes its calls though the first could not write a row
      await waitUntil(async () => downstream.calls.length === 2 * 6);
      // but no third: two finishing is the most for EXECUTION_CONCURRENCY 1
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(downstream.calls).toHaveLength(2 * 6);
      const statuses = await blocker.query<{ status: string }>(
        `SELECT status FROM orchestrator_executions WHERE parent_execution_id = $1`,
        [execution.execution_id],
      );
      expect(statuses.map((s) => s.status)).toEqual(['running', 'running', 'running']);
    } finally {
      await blocker.release();
    }
    // EXECUTION_CONCURRENCY bounds the tenants calling: a tenant's first call starts after
    // the previous tenant's last call ended
    const byTenant = tenants.tenants.map((t) => downstream.callsOf(t.id));
    const spans = byTenant
      .map((calls) => ({
        from: Math.min(...calls.map((c) => c.startedAt)),
        to: Math.max(...calls.map((c) => c.endedAt)),
      }))
      .sort((a, b) => a.from - b.from);
    for (let i = 1; i < spans.length; i++)
      expect(spans[i].from).toBeGreaterThanOrEqual(spans[i - 1].to);
    const run = await finished(engine.dataSource, execution.execution_id);
    expect(run.result_summary).toMatchObject({ tenants_succeeded: 3, steps_completed: 18 });
  });
});

describeWith(['postgres'], 'workflow engine on PostgreSQL, tenants finishing', () => {
  let db: TestDatabase;
  let sql: Client;
  const downstream = new FakeDownstream(3);
  const tenants = new FakeTenantDirectory(makeTenants(2));
  const engines: EngineHarness[] = [];
  const start = async (env: Record<string, string> = {}) => {
    const engine = await startEngine({
      databaseUrl: db.url,
      downstream,
      tenants,
      env: { EXECUTION_CONCURRENCY: '1', ...env },
    });
    engines.push(engine);
    return engine;
  };
  const children = async (runId: string) =>
    (
      await sql.query<{ status: string; lease_expires_at: Date | null; steps: number }>(
        `SELECT e.status, e.lease_expires_at,
                (SELECT count(*)::int FROM orchestrator_execution_steps s WHERE s.execution_id = e.id) AS steps
           FROM orchestrator_executions e WHERE e.parent_execution_id = $1 ORDER BY e.id`,
        [runId],
      )
    ).rows;

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    sql = new Client({ connectionString: db.url });
    await sql.connect();
  });

  beforeEach(() => downstream.reset());

  afterAll(async () => {
    for (const engine of engines) await engine.close().catch(() => undefined);
    await sql?.end();
    await db?.drop();
  });

  it('keeps renewing the lease of a tenant whose calls are done while its rows wait', async () => {
    const engine = await start({ EXECUTION_LEASE_SECONDS: '2' });
    const { release: unblock } = await blockStepRows(db.url);
    let runId: string;
    try {
      runId = (
        (await engine.executions.executeManually(
          'daily_operations',
          { allow_concurrent: true },
          null,
        )) as { execution_id: string }
      ).execution_id;
      await waitUntil(async () => downstream.calls.length === 2 * 6);
      // both tenants are done calling and hold their leases; the leases move on twice
      // (renewed every 0.67 s), so they outlive the 2 s they were claimed with
      const first = (await children(runId)).map((c) => c.lease_expires_at!.getTime());
      await waitUntil(async () =>
        (await children(runId)).every(
          (c, i) => c.status === 'running' && c.lease_expires_at!.getTime() > first[i] + 1000,
        ),
      );
    } finally {
      await unblock();
    }
    const run = await finished(engine.dataSource, runId);
    expect(run.result_summary).toMatchObject({ tenants_succeeded: 2, steps_completed: 12 });
    // no lease ran out: nobody called a step again
    expect(downstream.calls).toHaveLength(2 * 6);
    await engine.close();
  });

  it('waits at shutdown for the work a run-closed listener started, before the database closes', async () => {
    const engine = await start();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let outcome = 'not run';
    engine.listeners.onRunClosed(async () => {
      await gate;
      try {
        const [{ n }] = await engine.dataSource.query(
          `SELECT count(*)::int AS n FROM orchestrator_executions`,
        );
        outcome = n > 0 ? 'read the database' : 'read nothing';
      } catch (err) {
        outcome = (err as Error).message;
      }
    });
    const runId = (
      (await engine.executions.executeManually(
        'daily_operations',
        { tenant_ids: [tenants.tenants[1].id], allow_concurrent: true },
        null,
      )) as { execution_id: string }
    ).execution_id;
    await finished(engine.dataSource, runId);
    let closed = false;
    const closing = engine.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    // the listener's check is still out: the shutdown waits for it
    expect(closed).toBe(false);
    release();
    await closing;
    expect(outcome).toBe('read the database');
  });

  it('lets a tenant whose calls are done write its outcome at shutdown, instead of handing it back', async () => {
    const engine = await start();
    const { release: unblock } = await blockStepRows(db.url);
    const runId = (
      (await engine.executions.executeManually(
        'daily_operations',
        { tenant_ids: [tenants.tenants[0].id], allow_concurrent: true },
        null,
      )) as { execution_id: string }
    ).execution_id;
    await waitUntil(async () => downstream.calls.length === 6);
    const closing = engine.close();
    // the shutdown waits for the finishing tenant's rows, which wait for the lock
    await waitUntil(
      async () =>
        (
          await sql.query(
            `SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
              WHERE NOT l.granted AND a.datname = current_database()`,
          )
        ).rowCount! > 0,
    );
    await unblock();
    await closing;
    expect(await children(runId)).toEqual([
      { status: 'completed', lease_expires_at: null, steps: 6 },
    ]);
    expect(downstream.calls).toHaveLength(6);
  });
});

describeWith(['postgres'], 'workflow engine on PostgreSQL, a lease renewal during a claim', () => {
  let db: TestDatabase;
  let engine: EngineHarness | undefined;
  // slow enough that two tenants are still calling when the next claim is prepared
  const downstream = new FakeDownstream(100);
  const tenants = new FakeTenantDirectory(makeTenants(6));

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
  });
  afterAll(async () => {
    await engine?.close();
    await db?.drop();
  });

  it('runs the tenants of a claim whose preparation a lease renewal overtook', async () => {
    // two calling, two claimed ahead: the first claim takes four, the next the last two
    engine = await startEngine({
      databaseUrl: db.url,
      downstream,
      tenants,
      env: { EXECUTION_CONCURRENCY: '2' },
    });
    const workflows = engine.app.get(WorkflowsService);
    const getMany = workflows.getMany.bind(workflows);
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    let prepared = 0;
    // the second claim's preparation (reading the definitions) waits at the gate
    jest.spyOn(workflows, 'getMany').mockImplementation(async (ids) => {
      if (++prepared === 2) await gate;
      return getMany(ids);
    });
    const run = (await engine.executions.executeManually(
      'daily_operations',
      { allow_concurrent: true },
      null,
    )) as { execution_id: string };
    await waitUntil(async () => prepared === 2);
    // a renewal of the leases held (the first claim's tenants) while the claim is prepared
    await engine.app.get(PeriodicJobs).get(LEASE_RENEW_JOB)!.runNow();
    openGate();
    // with the claim's two tenants lost, the run waited for their 60 s lease to expire
    const closed = await waitUntil(async () => {
      const r = await runStatus(engine!.dataSource, run.execution_id);
      return ['completed', 'failed'].includes(r.status) && r;
    }, 10_000);
    expect(closed.status).toBe('completed');
    expect(closed.result_summary).toMatchObject({ tenants_processed: 6, tenants_succeeded: 6 });
    expect(downstream.calls).toHaveLength(6 * 6);
  }, 20_000);
});

describeWith(['postgres'], 'workflow engine on PostgreSQL, checking a run for its end', () => {
  const downstream = new FakeDownstream(3);
  const tenants = new FakeTenantDirectory(makeTenants(12));
  const ctx = engineOnFreshDatabase(downstream, tenants, { EXECUTION_CONCURRENCY: '1' });

  it('checks a run once the instance holds none of its tenants, not at every tenant that ends', async () => {
    const engine = ctx.engine;
    const checks = jest.spyOn(ExecutionsRepository.prototype, 'lockFinishedParents');
    const run = (await engine.executions.executeManually(
      'daily_operations',
      { allow_concurrent: true },
      null,
    )) as { execution_id: string };
    const closed = await finished(engine.dataSource, run.execution_id);
    expect(closed.result_summary).toMatchObject({ tenants_processed: 12, tenants_succeeded: 12 });
    // one tenant at a time, two more claimed ahead: some tenant of the run is held until
    // the last ones (asking at each tenant's end checked it about 12 times)
    const ofRun = checks.mock.calls.filter(([, ids]) => ids?.includes(run.execution_id));
    expect(ofRun.length).toBeGreaterThanOrEqual(1);
    expect(ofRun.length).toBeLessThanOrEqual(3);
    checks.mockRestore();
  });
});
