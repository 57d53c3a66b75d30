import request from 'supertest';
import type { OperationContext, OperationResult } from 'src/clients/operation-registry';
import { OperationRegistry } from 'src/clients/operation-registry';
import { ExecutionsModule } from 'src/executions/executions.module';
import { TenantDirectory } from 'src/executions/ports';
import { CostMeter } from 'src/metrics/cost-meter';
import { MetricsModule } from 'src/metrics/metrics.module';
import { MetricsRollupService } from 'src/metrics/rollup.service';
import { WorkflowsModule } from 'src/workflows/workflows.module';
import { WorkflowsService } from 'src/workflows/workflows.service';
import { FakeDownstream, FakeTenantDirectory, makeTenants } from '../fakes/fake-downstream';
import { bearer } from '../utils/auth';
import { waitUntil } from '../utils/engine-harness';
import { executeAndSettle, OpsApp, startOpsApp } from '../utils/ops-app';
import { describeWith } from '../utils/services';
import { createTestDatabase, TestDatabase } from '../utils/test-db';

const API = '/api/v1/orchestrator';

/** The fake platform, with forecast validations that report a MAPE per tenant. */
class ValidatingDownstream extends FakeDownstream {
  mape = new Map<string, number>();

  override async run(name: string, ctx: OperationContext): Promise<OperationResult> {
    const result = await super.run(name, ctx);
    if (name !== 'forecasting.validate') return result;
    return { ...result, overall_mape: this.mape.get(ctx.tenant.id) ?? 12.5 };
  }
}

describeWith(['postgres'], 'metrics exposition, JSON rollups and statistics after runs', () => {
  let db: TestDatabase;
  let ops: OpsApp;
  const downstream = new ValidatingDownstream(2);
  const tenants = new FakeTenantDirectory(makeTenants(3));
  const [, poor] = tenants.tenants;

  const execute = () => executeAndSettle(ops, 'daily_operations');

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    ops = await startOpsApp({
      databaseUrl: db.url,
      imports: [WorkflowsModule, ExecutionsModule, MetricsModule],
      override: [
        { provide: OperationRegistry, useValue: downstream },
        { provide: TenantDirectory, useValue: tenants },
      ],
    });
    await ops.app.get(WorkflowsService).update('daily_operations', { max_retries: 0 });
    downstream.mape.set(poor.id, 41.25);
    await execute(); // all three tenants complete
    // every tenant fails at its last step: a failed run (one failed tenant of three would
    // leave the run completed, the seed's semantics)
    downstream.when((ctx) => (ctx.stepName === 'send_summary' ? 'fail' : 'ok'));
    await execute();
    // cost counters are written in batches about once a second; a tenant execution's row
    // can exist before its last steps are counted, so write what is pending first (twice: a
    // flush already under way shares its write, which took its batch before it started)
    const meter = ops.app.get(CostMeter);
    await meter.flush();
    await meter.flush();
    await waitUntil(async () => {
      const [{ n }] = await ops.dataSource.query(
        `SELECT count(*)::int AS n FROM orchestrator_execution_costs`,
      );
      return n === 6;
    });
  });

  afterAll(async () => {
    await ops?.close();
    await db?.drop();
  });

  it('exposes every specified metric name with its labels', async () => {
    const res = await request(ops.http).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    const text = res.text;
    const line = (name: string, labels: Record<string, string>, value?: string) => {
      const found = text
        .split('\n')
        .filter((l) => l.startsWith(`${name}{`))
        .find((l) => Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
      expect({ name, labels, found: found !== undefined }).toEqual({ name, labels, found: true });
      if (value !== undefined) expect(found!.split(' ').pop()).toBe(value);
    };
    const wf = { workflow_name: 'daily_operations' };
    line('orchestrator_workflow_executions_total', { ...wf, status: 'completed' }, '1');
    line('orchestrator_workflow_executions_total', { ...wf, status: 'failed' }, '1');
    for (const le of ['60', '300', '600', '1200', '1800', '3600', '+Inf']) {
      line('orchestrator_workflow_duration_seconds_bucket', { ...wf, le }, '2');
    }
    line('orchestrator_workflow_duration_seconds_count', wf, '2');
    line('orchestrator_workflow_success_rate_percentage', wf, '50');
    line('orchestrator_tenants_processed_total', { ...wf, status: 'completed' }, '3');
    line('orchestrator_tenants_processed_total', { ...wf, status: 'failed' }, '3');
    expect(text).toMatch(/^orchestrator_leader_instance\{instance_id="[^"]+"\} 1$/m);
    line(
      'orchestrator_step_duration_seconds_count',
      {
        ...wf,
        operation: 'notification.daily_summary',
        status: 'failed',
      },
      '3',
    );
    line(
      'orchestrator_step_duration_seconds_count',
      {
        ...wf,
        operation: 'forecasting.generate',
        status: 'completed',
      },
      '6',
    );
    line('orchestrator_cost_eur_total', wf);
    expect(text).toMatch(/^# TYPE orchestrator_executions_in_flight gauge$/m);
    expect(text).toMatch(/^# TYPE orchestrator_skipped_slots gauge$/m);
    expect(text).toMatch(/^orchestrator_outbox_backlog \d+$/m);
  });

  it('serves the JSON rollups at /api/v1/orchestrator/metrics beside the root exposition', async () => {
    await ops.app.get(MetricsRollupService).rollupRecent();
    const res = await request(ops.http).get(`${API}/metrics`).set(bearer('viewer'));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('application/json');
    const row = res.body.items.find(
      (i: { workflow_name: string }) => i.workflow_name === 'daily_operations',
    );
    expect(row).toMatchObject({
      total_executions: 2,
      successful_executions: 1,
      failed_executions: 1,
      success_rate_percentage: 50,
      tenant_executions: 6,
      tenant_failures: 3,
      tenants: 3,
      downstream_calls: 6 * 6,
    });
    expect(row.cost_eur).toBeGreaterThan(0);
    expect((await request(ops.http).get(`${API}/metrics`)).status).toBe(401);
    const bad = await request(ops.http)
      .get(`${API}/metrics`)
      .query({ from: '2026-13-01' })
      .set(bearer('viewer'));
    expect(bad.status).toBe(400);
  });

  it('answers GET /statistics with live success rates, durations, cost and forecast accuracy', async () => {
    const res = await request(ops.http).get(`${API}/statistics`).set(bearer('viewer'));
    expect(res.status).toBe(200);
    const s = res.body;
    expect(s.success_rate['24h']).toEqual({
      runs: 2,
      succeeded: 1,
      failed: 1,
      success_rate_percentage: 50,
    });
    expect(s.success_rate['30d'].runs).toBe(2);
    expect(s.duration_seconds.p50).toEqual(expect.any(Number));
    expect(s.slowest_workflows[0]).toMatchObject({ workflow_name: 'daily_operations', runs: 2 });
    expect(s.slowest_tenants.tenants).toHaveLength(3);
    expect(s.consecutive_failures).toEqual([
      expect.objectContaining({ workflow_name: 'daily_operations', consecutive_failures: 1 }),
    ]);
    expect(s.cost).toMatchObject({ downstream_calls: 36, tenant_days: 3 });
    expect(s.cost.per_tenant_per_day_eur.avg).toBeGreaterThan(0);
    expect(s.forecast_accuracy).toMatchObject({
      tenants_validated: 3,
      tenants_above_threshold: 1,
      above_threshold: [poor.id],
    });
    expect(s.forecast_accuracy.worst_tenants[0]).toMatchObject({
      tenant_id: poor.id,
      latest_mape: 41.25,
      samples: 2,
    });
    expect(s.dead_mans_switch.workflows).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ workflow_name: 'daily_operations', triggered: false }),
      ]),
    );
  });
});
