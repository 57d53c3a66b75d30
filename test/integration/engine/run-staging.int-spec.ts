import { Client } from 'pg';
import { RunCompleter } from 'src/executions/runner/run-completer';
import { orderTenants } from 'src/executions/tenant-order';
import { DataSource } from 'typeorm';
import { FakeDownstream, FakeTenantDirectory, makeTenants } from '../../fakes/fake-downstream';
import { EngineHarness, startEngine, waitUntil } from '../../utils/engine-harness';
import { describeWith } from '../../utils/services';
import { createTestDatabase, TestDatabase } from '../../utils/test-db';

/**
 * A run of more tenants than RUN_CREATE_BATCH_SIZE commits its first batch with the rest
 * staged beside it (orchestrator_run_staging), and RunExpander inserts the rest: the run
 * must be whole at its commit, keep the tier order across batches, survive its creator's
 * death, never close early, and run each tenant once however many instances insert.
 */

const FIRST_OPERATION = 'forecasting.generate';

async function runRow(ds: DataSource, id: string) {
  const [row] = await ds.query(
    `SELECT status, result_summary FROM orchestrator_executions WHERE id = $1`,
    [id],
  );
  return row as { status: string; result_summary: Record<string, unknown> };
}

const finished = (ds: DataSource, id: string) =>
  waitUntil(async () => {
    const r = await runRow(ds, id);
    return ['completed', 'failed'].includes(r.status) && r;
  });

async function childrenOf(ds: DataSource, id: string) {
  return (await ds.query(
    `SELECT tenant_id, status FROM orchestrator_executions WHERE parent_execution_id = $1`,
    [id],
  )) as { tenant_id: string; status: string }[];
}

const stagedRows = async (ds: DataSource) =>
  (await ds.query(`SELECT execution_id, next_index FROM orchestrator_run_staging`)) as {
    execution_id: string;
    next_index: number;
  }[];

describeWith(['postgres'], 'a run inserted in batches, on PostgreSQL', () => {
  let db: TestDatabase;
  const engines: EngineHarness[] = [];
  const downstream = new FakeDownstream(2);
  const tenants = new FakeTenantDirectory(makeTenants(24, { inactive: 4 }));
  const active = tenants.tenants.filter((t) => t.status === 'active');
  const start = async (env: Record<string, string>) => {
    const engine = await startEngine({ databaseUrl: db.url, downstream, tenants, env });
    engines.push(engine);
    return engine;
  };

  /**
   * A run of 20 tenants, 3 inserted with it and 17 staged, by an engine whose dispatcher
   * stopped first: it inserts nothing after the run's commit (as if it died).
   */
  const stagedRunOfStoppedCreator = async () => {
    const creator = await start({ RUN_CREATE_BATCH_SIZE: '3' });
    await creator.dispatcher.stop();
    const started = await creator.executions.startRun({
      workflowId: 'daily_operations',
      scheduledFor: new Date('2026-11-30T07:00:00Z'),
      executionType: 'scheduled',
      leaderTerm: null,
    });
    if (started.outcome !== 'started') throw new Error('no run started');
    return { creator, id: started.executionId };
  };

  beforeEach(async () => {
    db = await createTestDatabase({ migrated: true });
    downstream.reset();
  });
  afterEach(async () => {
    await Promise.all(engines.splice(0).map((e) => e.close()));
    await db.drop();
  });

  it('runs every tenant once, in tier order across the batches, leaves nothing staged and refreshes the statistics', async () => {
    // one tenant at a time: the first calls are in claim order
    const engine = await start({ RUN_CREATE_BATCH_SIZE: '3', EXECUTION_CONCURRENCY: '1' });
    const started = await engine.executions.startRun({
      workflowId: 'daily_operations',
      scheduledFor: new Date('2026-11-30T07:00:00Z'),
      executionType: 'scheduled',
      leaderTerm: null,
    });
    expect(started).toEqual({ outcome: 'started', executionId: expect.any(String), tenants: 20 });
    if (started.outcome !== 'started') return;
    const run = await finished(engine.dataSource, started.executionId);

    expect(run.status).toBe('completed');
    expect(run.result_summary).toMatchObject({ tenants_processed: 20, tenants_succeeded: 20 });
    expect(downstream.calls).toHaveLength(20 * 6);
    const firstCalls = downstream.calls
      .filter((c) => c.operation === FIRST_OPERATION)
      .map((c) => c.tenantId);
    expect(firstCalls).toEqual(orderTenants(active).map((t) => t.id));
    expect(await stagedRows(engine.dataSource)).toEqual([]);
    // the last batch refreshed the table's statistics, which the claim query's plan reads
    const [stats] = await engine.dataSource.query(
      `SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'orchestrator_executions'`,
    );
    expect(stats.last_analyze).not.toBeNull();
  });

  it('is whole at its commit: staged tenants count as pending, the run stays open, and another instance inserts and runs them after its creator stopped', async () => {
    const { creator, id } = await stagedRunOfStoppedCreator();
    const ds = creator.dataSource;

    const firstBatch = await childrenOf(ds, id);
    expect(firstBatch).toHaveLength(3);
    expect(await stagedRows(ds)).toEqual([{ execution_id: id, next_index: 0 }]);
    const progress = await creator.queries.progress(id);
    expect(progress.tenants_total).toBe(20);
    expect(progress.by_status).toEqual({ pending: 20 });

    // the first batch done (here by hand), the completer must not close a run with staged tenants
    await ds.query(
      `UPDATE orchestrator_executions SET status = 'completed', completed_at = now(), steps_completed = 6
        WHERE parent_execution_id = $1`,
      [id],
    );
    await creator.app.get(RunCompleter).flush(true);
    expect((await runRow(ds, id)).status).toBe('running');

    // two instances start on the same database: they share the batches, each tenant once
    const [a, b] = await Promise.all([
      start({ RUN_CREATE_BATCH_SIZE: '2' }),
      start({ RUN_CREATE_BATCH_SIZE: '2' }),
    ]);
    const run = await finished(a.dataSource, id);
    expect(run.status).toBe('completed');
    expect(run.result_summary).toMatchObject({ tenants_processed: 20, tenants_succeeded: 20 });
    const children = await childrenOf(b.dataSource, id);
    expect(children).toHaveLength(20);
    expect(new Set(children.map((c) => c.tenant_id))).toEqual(new Set(active.map((t) => t.id)));
    // the 17 staged tenants ran, each once; the 3 completed ones were not called again
    const done = new Set(firstBatch.map((c) => c.tenant_id));
    const called = downstream.calls.filter((c) => c.operation === FIRST_OPERATION);
    expect(called).toHaveLength(17);
    expect(called.some((c) => done.has(c.tenantId))).toBe(false);
    expect(downstream.calls).toHaveLength(17 * 6);
    expect(await stagedRows(ds)).toEqual([]);
  });

  it('leaves a staged run another transaction holds, and inserts the rest at the next sweep once it is free', async () => {
    const { creator, id } = await stagedRunOfStoppedCreator();
    // as if an instance were inserting a batch: it holds the staging row
    const holder = new Client({ connectionString: db.url });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query(`SELECT 1 FROM orchestrator_run_staging FOR UPDATE`);
    try {
      const runner = await start({ RUN_CREATE_BATCH_SIZE: '3' });
      // the first batch runs; the staged tenants wait, and the run stays open
      await waitUntil(async () => downstream.calls.length === 3 * 6);
      expect(await childrenOf(runner.dataSource, id)).toHaveLength(3);
      expect((await runRow(runner.dataSource, id)).status).toBe('running');
    } finally {
      // the holder "dies": its transaction ends without writing
      await holder.query('ROLLBACK');
      await holder.end();
    }
    // the dispatcher's sweep (every 5 s) finds the staged run free and inserts the rest
    const run = await finished(creator.dataSource, id);
    expect(run.result_summary).toMatchObject({ tenants_processed: 20, tenants_succeeded: 20 });
    expect(downstream.calls).toHaveLength(20 * 6);
    expect(await stagedRows(creator.dataSource)).toEqual([]);
  }, 20_000);

  it('N identical manual runs at once: each is whole, and each tenant runs once per run', async () => {
    const engine = await start({ RUN_CREATE_BATCH_SIZE: '4', EXECUTION_CONCURRENCY: '4' });
    const runs = await Promise.all(
      Array.from({ length: 4 }, () =>
        engine.executions.executeManually('daily_operations', { allow_concurrent: true }, null),
      ),
    );
    const ids = runs.map((r) => (r as { execution_id: string }).execution_id);
    expect(new Set(ids).size).toBe(4);
    for (const id of ids) {
      const run = await finished(engine.dataSource, id);
      expect(run.status).toBe('completed');
      expect(run.result_summary).toMatchObject({ tenants_processed: 20 });
      expect(await childrenOf(engine.dataSource, id)).toHaveLength(20);
    }
    const perRunTenant = new Set(downstream.calls.map((c) => `${c.executionId}|${c.operation}`));
    expect(perRunTenant.size).toBe(4 * 20 * 6);
    expect(downstream.calls).toHaveLength(4 * 20 * 6);
  });
});
