import { randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import request from 'supertest';
import { serviceUrls } from 'src/config/env.schema';
import { AlertsService } from 'src/metrics/alerts/alerts.service';
import { startSimulator } from 'tools/simulator';
import type { RunningSimulator } from 'tools/simulator';
import { bearer } from '../utils/auth';
import { executeAndSettle, OpsApp, startOpsApp } from '../utils/ops-app';
import { describeWith } from '../utils/services';
import { createTestDatabase, TestDatabase } from '../utils/test-db';

const API = '/api/v1/orchestrator';
const DAY_MS = 86400_000;

/**
 * Step result summaries, the slow-run rule and the dead man's switch, through the API of
 * the whole application on PostgreSQL with the simulator over HTTP.
 */
describeWith(['postgres'], 'step results, slow runs and the dead man’s switch', () => {
  let db: TestDatabase;
  let sim: RunningSimulator;
  let ops: OpsApp;

  const execute = (workflow: string) => executeAndSettle(ops, workflow, 60000);

  /** Completed runs of `workflow` that lasted `ms` each, ended in the past days (history). */
  async function history(workflow: string, ms: number, runs: number, type = 'manual') {
    for (let i = 0; i < runs; i++) {
      const completed = new Date(Date.now() - (i + 1) * DAY_MS);
      await ops.dataSource.query(
        `INSERT INTO orchestrator_executions
           (id, workflow_name, execution_type, status, created_at, started_at, completed_at,
            duration_seconds, scheduled_for)
         VALUES ($1, $2, $5, 'completed', $3, $3, $4, round($6 / 1000.0)::int, $3)`,
        [randomUUID(), workflow, new Date(completed.getTime() - ms), completed, type, ms],
      );
    }
  }

  const runMs = async (id: string) =>
    Number(
      (
        await ops.dataSource.query(
          `SELECT extract(epoch FROM (completed_at - created_at)) * 1000 AS ms
             FROM orchestrator_executions WHERE id = $1`,
          [id],
        )
      )[0].ms,
    );
  const openAlerts = async (kind: string) =>
    ops.dataSource.query(
      `SELECT condition_key FROM orchestrator_alerts WHERE kind = $1 AND cleared_at IS NULL`,
      [kind],
    );

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    sim = await startSimulator({ port: 0, tenants: 3, latencyMs: 5, includeInactive: false });
    ops = await startOpsApp({
      databaseUrl: db.url,
      env: { ...serviceUrls(sim.url), WORKFLOW_DEADLINES: 'weekly_retraining=23:59' },
    });
  });

  afterAll(async () => {
    await ops?.close();
    await sim?.close();
    await db?.drop();
  });

  it('shows each step’s result summary in GET /executions/{id} and in the step logs', async () => {
    const id = await execute('daily_operations');
    const res = await request(ops.http).get(`${API}/executions/${id}`).set(bearer('viewer'));
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('completed');
    const child = res.body.children[0];
    const step = (name: string) => child.steps.find((s: { name: string }) => s.name === name);
    const forecasts = sim.calls({ tenant_id: child.tenant_id, operation: 'forecasting.generate' });
    expect(forecasts).toHaveLength(1);
    expect(step('generate_forecasts').result_summary).toEqual({
      text: expect.stringMatching(/^Generated \d+ forecasts for \d+ products over 7 days$/),
      figures: expect.objectContaining({ forecasts: expect.any(Number), days_ahead: 7 }),
    });
    expect(step('validate_forecasts').result_summary.text).toMatch(/MAPE=\d+(\.\d)? %/);
    expect(step('calculate_production').result_summary.text).toMatch(
      /^Planned \d+ production batch(es)?/,
    );
    expect(step('calculate_procurement').result_summary.text).toMatch(/purchase needs?/);
    expect(step('send_summary').result_summary.text).toMatch(/^Sent the daily summary/);
    const logs = await request(ops.http)
      .get(`${API}/executions/${child.id}/logs`)
      .set(bearer('viewer'));
    const line = logs.body.items.find(
      (l: { step_name: string }) => l.step_name === 'generate_forecasts',
    );
    expect(line.log_message).toBe(
      `generate_forecasts completed: ${step('generate_forecasts').result_summary.text}`,
    );
    expect(line.log_data.summary.forecasts).toBe(
      step('generate_forecasts').result_summary.figures.forecasts,
    );
  });

  it('raises no slow-run alert for a 3 s run against a 2.5 s median', async () => {
    await history('weekly_digest', 2500, 5);
    // the notice is the last step: holding it 3 s makes the run last about that long
    sim.addFault({ service: 'notification', latency_ms: 3000 });
    const id = await execute('weekly_digest');
    sim.clearFaults();
    expect(await runMs(id)).toBeGreaterThanOrEqual(3000);
    expect(await openAlerts('slow_run')).toEqual([]);
    const stats = await request(ops.http).get(`${API}/statistics`).set(bearer('viewer'));
    const weekly = stats.body.slowest_workflows.find(
      (w: { workflow_name: string }) => w.workflow_name === 'weekly_digest',
    );
    // milliseconds: a median of 2.5 s is not rounded to 2 or 3
    expect(weekly.p50_ms).toBe(2500);
    expect(weekly.p50_seconds).toBe(2.5);
  });

  it('raises no slow-run alert for a 3 s run whose history is sub-second (the floor)', async () => {
    // whole seconds made this median 0 and alerted anything over 2 s
    await history('alert_cleanup', 400, 5);
    sim.addFault({ service: 'alert_processor', latency_ms: 3000 });
    const id = await execute('alert_cleanup');
    sim.clearFaults();
    expect(await runMs(id)).toBeGreaterThanOrEqual(3000);
    expect(await openAlerts('slow_run')).toEqual([]);
  });

  it('does not let a manual run reset the dead man’s switch of a scheduled workflow', async () => {
    // configured a week ago, last scheduled run three days ago: daily_operations is overdue
    await ops.dataSource.query(
      `UPDATE orchestrator_workflows SET updated_at = now() - interval '7 days'
        WHERE workflow_name = 'daily_operations'`,
    );
    const lastScheduled = new Date(Date.now() - 3 * DAY_MS);
    await ops.dataSource.query(
      `INSERT INTO orchestrator_executions
         (workflow_name, execution_type, status, created_at, completed_at, scheduled_for)
       VALUES ('daily_operations', 'scheduled', 'completed', $1, $1, $1)`,
      [lastScheduled],
    );
    const alerts = ops.app.get(AlertsService);
    await alerts.evaluate();
    expect(await openAlerts('dead_mans_switch')).toEqual([
      { condition_key: 'dead_mans_switch:daily_operations' },
    ]);
    expect(
      await request(ops.http)
        .get(`${API}/executions/${await execute('daily_operations')}`)
        .set(bearer('viewer')),
    ).toHaveProperty('body.status', 'completed');
    await alerts.evaluate();
    expect(await openAlerts('dead_mans_switch')).toEqual([
      { condition_key: 'dead_mans_switch:daily_operations' },
    ]);
    const stats = await request(ops.http).get(`${API}/statistics`).set(bearer('viewer'));
    const daily = stats.body.dead_mans_switch.workflows.find(
      (w: { workflow_name: string }) => w.workflow_name === 'daily_operations',
    );
    expect(daily).toMatchObject({
      triggered: true,
      last_heartbeat_at: lastScheduled.toISOString(),
    });
  });

  it('lists each judged run’s deadline verdict in GET /statistics', async () => {
    // yesterday's 08:00 slot, its one tenant done ten minutes later: before 23:59
    const slot = DateTime.now().setZone('Europe/Madrid').minus({ days: 1 }).set({
      hour: 8,
      minute: 0,
      second: 0,
      millisecond: 0,
    });
    const runId = randomUUID();
    const done = slot.plus({ minutes: 10 }).toJSDate();
    await ops.dataSource.query(
      `INSERT INTO orchestrator_executions
         (id, workflow_name, execution_type, status, created_at, completed_at, scheduled_for)
       VALUES ($1, 'weekly_retraining', 'scheduled', 'completed', $2, $3, $2)`,
      [runId, slot.toJSDate(), done],
    );
    await ops.dataSource.query(
      `INSERT INTO orchestrator_executions
         (workflow_name, execution_type, status, created_at, completed_at, scheduled_for,
          parent_execution_id, tenant_id, priority)
       VALUES ('weekly_retraining', 'scheduled', 'completed', $1, $2, $1, $3, $4, 0)`,
      [slot.toJSDate(), done, runId, randomUUID()],
    );
    await ops.app.get(AlertsService).evaluateDeadlines(new Date());
    const stats = await request(ops.http).get(`${API}/statistics`).set(bearer('viewer'));
    expect(stats.body.deadlines.runs).toEqual([
      expect.objectContaining({
        run_id: runId,
        workflow_name: 'weekly_retraining',
        local_date: slot.toISODate(),
        tenants_total: 1,
        tenants_on_time: 1,
        tenants_missed: 0,
        met: true,
      }),
    ]);
  });

  it('shows today in GET /metrics live from the executions before any rollup', async () => {
    const zone = 'Europe/Madrid';
    const today = DateTime.now().setZone(zone).toISODate()!;
    expect(
      await ops.dataSource.query(`SELECT count(*)::int AS n FROM orchestrator_metrics`),
    ).toEqual([{ n: 0 }]);
    const [{ n: runsToday }] = await ops.dataSource.query(
      `SELECT count(*)::int AS n FROM orchestrator_executions
        WHERE workflow_name = 'daily_operations' AND tenant_id IS NULL
          AND parent_execution_id IS NULL AND created_at >= $1`,
      [DateTime.now().setZone(zone).startOf('day').toJSDate()],
    );
    expect(runsToday).toBeGreaterThanOrEqual(2);
    const res = await request(ops.http)
      .get(`${API}/metrics?from=${today}&to=${today}&workflow=daily_operations`)
      .set(bearer('viewer'));
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([
      expect.objectContaining({
        metric_date: today,
        workflow_name: 'daily_operations',
        total_executions: runsToday,
        successful_executions: runsToday,
        live: true,
      }),
    ]);
  });
});
