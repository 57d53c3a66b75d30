import type { ClosedRun, FinishedStep } from 'src/executions/execution-listeners.service';
import { FakeDownstream, FakeTenantDirectory, makeTenants } from '../fakes/fake-downstream';
import { EngineHarness, startEngine, waitUntil } from '../utils/engine-harness';
import { describeWith } from '../utils/services';
import { createTestDatabase, TestDatabase } from '../utils/test-db';

/** The two listener hooks ExecutionListenersService offers to metrics, alerts and cost tracking. */
describeWith(
  ['postgres', 'redis'],
  'ExecutionListenersService.onRunClosed / onStepFinished',
  () => {
    let db: TestDatabase;
    let engine: EngineHarness;
    const downstream = new FakeDownstream(2);
    const tenants = new FakeTenantDirectory(makeTenants(3));
    const closed: ClosedRun[] = [];
    const steps: FinishedStep[] = [];

    beforeAll(async () => {
      db = await createTestDatabase({ migrated: true });
      engine = await startEngine({ databaseUrl: db.url, downstream, tenants });
      engine.listeners.onRunClosed((run) => closed.push(run));
      engine.listeners.onStepFinished((step) => steps.push(step));
      engine.listeners.onStepFinished(() => {
        throw new Error('a broken listener must not break the runner');
      });
      await engine.workflows.update('daily_operations', { max_retries: 0 });
    });

    afterAll(async () => {
      await engine?.close();
      await db?.drop();
    });

    it('reports every step attempt and the closed run once, after commit', async () => {
      const failing = tenants.tenants[0].id;
      downstream.when((ctx) =>
        ctx.tenant.id === failing && ctx.stepName === 'calculate_production' ? 'fail' : 'ok',
      );
      const started = await engine.executions.startRun({
        workflowId: 'daily_operations',
        scheduledFor: new Date('2026-03-02T07:00:00Z'),
        executionType: 'scheduled',
        leaderTerm: null,
      });
      if (started.outcome !== 'started') throw new Error('not started');
      await waitUntil(async () => closed.length > 0);

      expect(closed).toHaveLength(1);
      expect(closed[0].parent.id).toBe(started.executionId);
      // one tenant of three failed: the run completes, counting it (the seed's semantics)
      expect(closed[0].status).toBe('completed');
      expect(closed[0].summary).toMatchObject({ tenants_processed: 3, tenants_failed: 1 });
      const [row] = await engine.dataSource.query(
        `SELECT status FROM orchestrator_executions WHERE id = $1`,
        [started.executionId],
      );
      expect(row.status).toBe('completed');

      // 2 healthy tenants x 6 steps, plus the failing one: generate, validate, the failed step
      expect(steps).toHaveLength(2 * 6 + 3);
      expect(new Set(steps.map((s) => s.runId))).toEqual(new Set([started.executionId]));
      const failed = steps.filter((s) => s.status === 'failed');
      expect(failed).toEqual([
        expect.objectContaining({
          tenantId: failing,
          stepName: 'calculate_production',
          operation: 'production.generate_schedule',
          workflowName: 'daily_operations',
          calls: 1,
        }),
      ]);
      for (const s of steps) expect(s.durationMs).toBeGreaterThanOrEqual(0);
    });
  },
);
