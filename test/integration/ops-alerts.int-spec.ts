import { randomUUID } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { ExecutionEntity } from 'src/executions/execution.entity';
import { AlertsService, TENANT_ALERTS_PER_RUN } from 'src/metrics/alerts/alerts.service';
import { FakeClock } from '../fakes/fake-clock';
import { RecordingNotifier, startAlertsApp } from '../utils/alerts-app';
import { describeWith } from '../utils/services';
import { createTestDatabase, TestDatabase } from '../utils/test-db';

const TIER_PRIORITY = { enterprise: 3, professional: 2, starter: 1, free: 0 } as const;

/**
 * Alerts on the orchestrator itself with an injected clock: the dead man's switch and a
 * deadline miss each fire once (row + outbox event + notice), stay quiet while open, and
 * are cleared by the next success.
 */
describeWith(['postgres'], "alerts: dead man's switch and deadlines with a FakeClock", () => {
  let db: TestDatabase;
  let app: INestApplication;
  let ds: DataSource;
  let alerts: AlertsService;
  const clock = new FakeClock(new Date('2026-03-10T06:00:00Z'));
  const notifier = new RecordingNotifier();

  const events = async (routingKey: string, condition: string) =>
    (
      await ds.query(
        `SELECT payload FROM orchestrator_outbox WHERE routing_key = $1 AND payload->>'condition' = $2`,
        [routingKey, condition],
      )
    ).map((r: { payload: Record<string, unknown> }) => r.payload);
  const openRows = async (condition: string) =>
    ds.query(`SELECT * FROM orchestrator_alerts WHERE condition_key = $1 ORDER BY opened_at`, [
      condition,
    ]);

  /** A finished scheduled run with one child per tier outcome, written as the engine would. */
  async function scheduledRun(o: {
    workflow: string;
    scheduledFor: string;
    completedAt: string;
    children: { tier: keyof typeof TIER_PRIORITY; status: string; completedAt: string | null }[];
  }): Promise<string> {
    const id = randomUUID();
    const status = o.children.every((c) => c.status === 'completed') ? 'completed' : 'failed';
    await ds.query(
      `INSERT INTO orchestrator_executions
         (id, workflow_name, execution_type, status, created_at, completed_at, duration_seconds, scheduled_for)
       VALUES ($1, $2, 'scheduled', $3, $4, $5, 60, $4)`,
      [id, o.workflow, status, new Date(o.scheduledFor), new Date(o.completedAt)],
    );
    for (const c of o.children) {
      await ds.query(
        `INSERT INTO orchestrator_executions
           (id, workflow_name, execution_type, status, created_at, completed_at, scheduled_for,
            parent_execution_id, tenant_id, priority)
         VALUES ($1, $2, 'scheduled', $3, $4, $5, $4, $6, $7, $8)`,
        [
          randomUUID(),
          o.workflow,
          c.status,
          new Date(o.scheduledFor),
          c.completedAt ? new Date(c.completedAt) : null,
          id,
          randomUUID(),
          TIER_PRIORITY[c.tier],
        ],
      );
    }
    return id;
  }

  const closed = async (id: string) => {
    const [parent] = await ds.query(
      `SELECT id, workflow_name AS "workflowName", execution_type AS "executionType"
         FROM orchestrator_executions WHERE id = $1`,
      [id],
    );
    return {
      parent: parent as ExecutionEntity,
      status: 'completed' as const,
      summary: { duration_seconds: 60, tenants_processed: 1, tenants_succeeded: 1 },
    };
  };

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    app = await startAlertsApp({
      databaseUrl: db.url,
      clock,
      notifier,
      env: {
        DEAD_MANS_SWITCH_GRACE_SECONDS: '3600',
        WORKFLOW_DEADLINES: 'daily_operations=08:30,daily_operations@enterprise=08:15',
      },
    });
    ds = app.get(DataSource);
    alerts = app.get(AlertsService);
    // the built-in workflows were installed "now"; their switch starts from there
    await ds.query(`UPDATE orchestrator_workflows SET updated_at = '2026-03-09T06:00:00Z'`);
    await ds.query(
      `UPDATE orchestrator_workflows SET is_enabled = false WHERE workflow_name <> 'daily_operations'`,
    );
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  describe('clock skew', () => {
    it("opens one alert per instance while its clock is off the database's, and clears it when back", async () => {
      const skewed = { offsetMs: 90_004, uncertaintyMs: 2, skewed: true, maxSkewMs: 5_000 };
      const opened = await alerts.onClockSkew(skewed);
      expect(await alerts.onClockSkew(skewed)).toBeNull();
      const condition = opened!.conditionKey;
      expect(condition).toMatch(/^clock_skew:/);
      const rows = await openRows(condition);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ kind: 'clock_skew', workflow_name: null, cleared_at: null });
      expect(rows[0].message).toContain('clock is 90 s ahead of the database clock (limit 5 s)');
      expect(await events('orchestrator.alert', condition)).toHaveLength(1);

      await alerts.onClockSkew({ ...skewed, offsetMs: 12, skewed: false });
      expect((await openRows(condition))[0].cleared_at).not.toBeNull();
      expect(await events('orchestrator.alert_resolved', condition)).toHaveLength(1);
    });
  });

  describe("dead man's switch", () => {
    const condition = 'dead_mans_switch:daily_operations';

    it('stays quiet within period plus grace of the last heartbeat', async () => {
      // changed 2026-03-09 07:00 Madrid; due 1 day + 1 h later: 2026-03-10 08:00 Madrid (07:00Z)
      clock.set('2026-03-10T06:59:00Z');
      expect(await alerts.evaluate()).toEqual([]);
      expect(await openRows(condition)).toEqual([]);
    });

    it('fires once past the due time: one row, one outbox event, one notice', async () => {
      clock.set('2026-03-10T07:01:00Z');
      const opened = await alerts.evaluate();
      expect(opened.map((a) => a.conditionKey)).toEqual([condition]);
      clock.advance(3600_000);
      expect(await alerts.evaluate()).toEqual([]);
      clock.advance(3600_000);
      expect(await alerts.evaluate()).toEqual([]);

      const rows = await openRows(condition);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        kind: 'dead_mans_switch',
        severity: 'critical',
        cleared_at: null,
      });
      expect(new Date(rows[0].opened_at).toISOString()).toBe('2026-03-10T07:01:00.000Z');
      expect(await events('orchestrator.alert', condition)).toEqual([
        expect.objectContaining({
          event_type: 'orchestrator_alert',
          alert_id: rows[0].id,
          kind: 'dead_mans_switch',
          workflow_name: 'daily_operations',
          event_id: rows[0].event_id,
        }),
      ]);
      expect(notifier.sent.filter((a) => a.conditionKey === condition)).toHaveLength(1);
    });

    it('is cleared by the next completed run and stays cleared while heartbeats come', async () => {
      clock.set('2026-03-10T09:30:00Z');
      const id = await scheduledRun({
        workflow: 'daily_operations',
        scheduledFor: '2026-03-10T09:00:00Z',
        completedAt: '2026-03-10T09:20:00Z',
        children: [{ tier: 'starter', status: 'completed', completedAt: '2026-03-10T09:20:00Z' }],
      });
      await alerts.onRunClosed(await closed(id));
      const [row] = await openRows(condition);
      expect(row.cleared_at).not.toBeNull();
      expect(row.cleared_reason).toContain(id);
      expect(await events('orchestrator.alert_resolved', condition)).toHaveLength(1);
      clock.set('2026-03-11T07:30:00Z'); // within a day + 1 h of 09:20Z
      expect((await alerts.evaluate()).filter((a) => a.conditionKey === condition)).toEqual([]);
    });

    it('fires again, once, when the next silence starts', async () => {
      clock.set('2026-03-11T10:21:00Z'); // 09:20Z + 1 day + 1 h passed
      expect((await alerts.evaluate()).map((a) => a.conditionKey)).toContain(condition);
      expect((await alerts.evaluate()).map((a) => a.conditionKey)).not.toContain(condition);
      expect(await openRows(condition)).toHaveLength(2);
      expect(await events('orchestrator.alert', condition)).toHaveLength(2);
    });
  });

  describe('deadlines (daily_operations by 08:30, enterprise by 08:15, Madrid)', () => {
    const condition = 'deadline_missed:daily_operations';

    it('judges a run once its deadlines passed and fires once for the tenants that missed them', async () => {
      // 2026-03-12: slot 08:00 Madrid = 07:00Z; enterprise due 07:15Z, others 07:30Z
      const id = await scheduledRun({
        workflow: 'daily_operations',
        scheduledFor: '2026-03-12T07:00:00Z',
        completedAt: '2026-03-12T07:40:00Z',
        children: [
          { tier: 'enterprise', status: 'completed', completedAt: '2026-03-12T07:10:00Z' },
          { tier: 'enterprise', status: 'completed', completedAt: '2026-03-12T07:20:00Z' }, // late
          { tier: 'professional', status: 'completed', completedAt: '2026-03-12T07:29:00Z' },
          { tier: 'free', status: 'completed', completedAt: '2026-03-12T07:40:00Z' }, // late
          { tier: 'free', status: 'failed', completedAt: '2026-03-12T07:05:00Z' }, // never done
        ],
      });
      await ds.query(`UPDATE orchestrator_executions SET status = 'running' WHERE id = $1`, [id]);
      clock.set('2026-03-12T07:25:00Z'); // enterprise deadline passed, the others not yet
      expect((await alerts.evaluateDeadlines(clock.now())).length).toBe(0);

      clock.set('2026-03-12T07:31:00Z');
      const opened = await alerts.evaluateDeadlines(clock.now());
      expect(opened.map((a) => a.conditionKey)).toEqual([condition]);
      expect(opened[0].details).toMatchObject({ execution_id: id, tenants_affected: 3 });
      const [verdict] = await ds.query(
        `SELECT local_date::text AS d, tenants_total, tenants_on_time, tenants_missed, by_tier
           FROM orchestrator_deadline_results WHERE run_id = $1`,
        [id],
      );
      expect(verdict).toEqual({
        d: '2026-03-12',
        tenants_total: 5,
        tenants_on_time: 2,
        tenants_missed: 3,
        by_tier: {
          enterprise: { total: 2, on_time: 1, missed: 1, deadline: '2026-03-12T07:15:00.000Z' },
          professional: { total: 1, on_time: 1, missed: 0, deadline: '2026-03-12T07:30:00.000Z' },
          free: { total: 2, on_time: 0, missed: 2, deadline: '2026-03-12T07:30:00.000Z' },
        },
      });

      clock.advance(60_000);
      expect(await alerts.evaluate()).toEqual(
        expect.not.arrayContaining([expect.objectContaining({ conditionKey: condition })]),
      );
      expect(await openRows(condition)).toHaveLength(1);
      expect(await events('orchestrator.alert', condition)).toHaveLength(1);
      expect(notifier.sent.filter((a) => a.conditionKey === condition)).toHaveLength(1);
    });

    it('is cleared by the next run that meets its deadlines', async () => {
      await scheduledRun({
        workflow: 'daily_operations',
        scheduledFor: '2026-03-13T07:00:00Z',
        completedAt: '2026-03-13T07:12:00Z',
        children: [
          { tier: 'enterprise', status: 'completed', completedAt: '2026-03-13T07:10:00Z' },
          { tier: 'free', status: 'completed', completedAt: '2026-03-13T07:12:00Z' },
        ],
      });
      clock.set('2026-03-13T07:13:00Z'); // the run is over: judged before its deadlines
      expect(await alerts.evaluateDeadlines(clock.now())).toEqual([]);
      const [row] = await openRows(condition);
      expect(row.cleared_at).not.toBeNull();
      expect(await events('orchestrator.alert_resolved', condition)).toHaveLength(1);
    });
  });

  describe('slow runs and missed slots', () => {
    const runOf = async (seconds: number, day: number) => {
      const id = await scheduledRun({
        workflow: 'weekly_digest',
        scheduledFor: new Date(Date.UTC(2026, 4, day, 7)).toISOString(),
        completedAt: new Date(Date.UTC(2026, 4, day, 7, 30)).toISOString(),
        children: [{ tier: 'free', status: 'completed', completedAt: null }],
      });
      // a run lasts from creation to close, as the engine measures it
      await ds.query(
        `UPDATE orchestrator_executions
            SET duration_seconds = $2::int, completed_at = created_at + make_interval(secs => $2::int)
          WHERE id = $1`,
        [id, seconds],
      );
      const run = await closed(id);
      return alerts.onRunClosed({ ...run, summary: { ...run.summary, duration_seconds: seconds } });
    };

    it('fires for a run over ALERT_SLOW_RUN_FACTOR x the median once there is history, and clears on a normal one', async () => {
      expect(await runOf(250, 1)).toEqual([]); // no history yet
      await runOf(100, 2);
      await runOf(110, 3);
      await runOf(90, 4);
      // 4 completed runs: fewer than ALERT_SLOW_RUN_MIN_RUNS (5) say nothing yet
      expect(await runOf(240, 5)).toEqual([]);
      // median of 240, 90, 110, 100, 250 = 110 s; 2 x 110 = 220 s, above the 60 s floor
      const slow = await runOf(230, 6);
      expect(slow.map((a) => [a.kind, a.details.median_ms, a.details.expected_ms])).toEqual([
        ['slow_run', 110_000, 220_000],
      ]);
      expect(await runOf(225, 7)).toEqual([]); // still slow: already open
      await runOf(100, 8);
      const [row] = await openRows('slow_run:weekly_digest');
      expect(row.cleared_at).not.toBeNull();
    });

    it('fires once for a missed slot newer than the last completed run', async () => {
      await ds.query(
        `INSERT INTO orchestrator_executions (workflow_name, execution_type, status, scheduled_for, error_message)
         VALUES ('weekly_digest', 'scheduled', 'skipped', '2026-05-11T07:00:00Z',
                 'missed: no leader between 2026-05-11T06:59:00Z and 2026-05-11T19:00:00Z')`,
      );
      const first = await alerts.evaluate();
      expect(first.filter((a) => a.kind === 'slot_missed').map((a) => a.conditionKey)).toEqual([
        'slot_missed:weekly_digest',
      ]);
      expect((await alerts.evaluate()).filter((a) => a.kind === 'slot_missed')).toEqual([]);
      await runOf(100, 12);
      expect((await openRows('slot_missed:weekly_digest'))[0].cleared_at).not.toBeNull();
      expect((await alerts.evaluate()).filter((a) => a.kind === 'slot_missed')).toEqual([]);
    });
  });

  describe('tenant failure streaks', () => {
    const tenant = randomUUID();
    const other = randomUUID();
    const condition = `tenant_failing:daily_operations:${tenant}`;

    /** A run of two tenants closed as the engine closes it: completed unless both failed. */
    async function runWith(day: number, outcome: Record<string, 'completed' | 'failed'>) {
      const id = randomUUID();
      const at = new Date(Date.UTC(2027, 4, day, 7));
      const status = Object.values(outcome).includes('completed') ? 'completed' : 'failed';
      await ds.query(
        `INSERT INTO orchestrator_executions
           (id, workflow_name, execution_type, status, created_at, completed_at, duration_seconds, scheduled_for)
         VALUES ($1, 'daily_operations', 'scheduled', $2, $3, $3, 60, $3)`,
        [id, status, at],
      );
      for (const [tenantId, s] of Object.entries(outcome)) {
        await ds.query(
          `INSERT INTO orchestrator_executions
             (workflow_name, execution_type, status, created_at, completed_at, scheduled_for,
              parent_execution_id, tenant_id, error_message)
           VALUES ('daily_operations', 'scheduled', $1, $2, $2, $2, $3, $4, $5)`,
          [
            s,
            at,
            id,
            tenantId,
            s === 'failed' ? 'production.generate_schedule: answered 503' : null,
          ],
        );
      }
      const failed = Object.values(outcome).filter((s) => s === 'failed').length;
      return alerts.onRunClosed({
        parent: { id, workflowName: 'daily_operations' } as ExecutionEntity,
        status,
        summary: {
          duration_seconds: 60,
          tenants_processed: Object.keys(outcome).length,
          tenants_failed: failed,
          tenants_succeeded: Object.keys(outcome).length - failed,
        },
      });
    }

    it('opens one alert per streak of a tenant failing in runs that completed, and clears it when the tenant completes', async () => {
      const first = await runWith(1, { [tenant]: 'failed', [other]: 'completed' });
      expect(first.map((a) => a.conditionKey)).toEqual([condition]);
      expect(first[0].message).toContain('answered 503');
      // the streak goes on: no second alert, no run alert for a run that completed
      expect(await runWith(2, { [tenant]: 'failed', [other]: 'completed' })).toEqual([]);
      expect(await openRows(condition)).toHaveLength(1);
      expect(await openRows('run_failed:daily_operations')).toEqual([]);

      expect(await runWith(3, { [tenant]: 'completed', [other]: 'completed' })).toEqual([]);
      const [row] = await openRows(condition);
      expect(row.cleared_at).not.toBeNull();
      expect(await events('orchestrator.alert', condition)).toHaveLength(1);
      expect(await events('orchestrator.alert_resolved', condition)).toHaveLength(1);

      // a new streak is a new alert
      const again = await runWith(4, { [tenant]: 'failed', [other]: 'completed' });
      expect(again.map((a) => a.conditionKey)).toEqual([condition]);
      await runWith(5, { [tenant]: 'completed', [other]: 'completed' });
    });

    it('opens one tenant_failures alert instead of one per tenant past the per-run limit', async () => {
      const outcome: Record<string, 'completed' | 'failed'> = { [other]: 'completed' };
      for (let i = 0; i < TENANT_ALERTS_PER_RUN + 1; i++) outcome[randomUUID()] = 'failed';
      const opened = await runWith(8, outcome);
      expect(opened.map((a) => a.conditionKey)).toEqual(['tenant_failures:daily_operations']);
      const open = await ds.query(
        `SELECT count(*)::int AS n FROM orchestrator_alerts WHERE kind = 'tenant_failing' AND cleared_at IS NULL`,
      );
      expect(open[0].n).toBe(0);
      await runWith(9, { [tenant]: 'completed', [other]: 'completed' });
      const [row] = await openRows('tenant_failures:daily_operations');
      expect(row.cleared_at).not.toBeNull();
    });

    it('alerts a run whose every tenant failed as a run, not per tenant', async () => {
      const opened = await runWith(6, { [tenant]: 'failed', [other]: 'failed' });
      expect(opened.map((a) => a.kind)).toEqual(['run_failed']);
      expect(
        (await openRows(condition)).filter((r: { cleared_at: Date | null }) => !r.cleared_at),
      ).toEqual([]);
      await runWith(7, { [tenant]: 'completed', [other]: 'completed' });
    });
  });

  describe('failed runs', () => {
    it('fire once per condition and escalate at the consecutive-failures threshold', async () => {
      const fail = async (n: number) => {
        await ds.query(
          `UPDATE orchestrator_workflows SET consecutive_failures = $1 WHERE workflow_name = 'daily_operations'`,
          [n],
        );
        const run = await closed(
          await scheduledRun({
            workflow: 'daily_operations',
            scheduledFor: new Date(Date.UTC(2026, 3, n, 7)).toISOString(),
            // a minute, as its summary says: the slow-run rule reads the row's times
            completedAt: new Date(Date.UTC(2026, 3, n, 7, 1)).toISOString(),
            children: [{ tier: 'free', status: 'failed', completedAt: null }],
          }),
        );
        return alerts.onRunClosed({
          ...run,
          status: 'failed',
          summary: { duration_seconds: 60, tenants_processed: 1, tenants_failed: 1 },
        });
      };
      expect((await fail(1)).map((a) => a.kind)).toEqual(['run_failed']);
      expect((await fail(2)).map((a) => a.kind)).toEqual([]);
      expect((await fail(3)).map((a) => a.kind)).toEqual(['consecutive_failures']);
      expect((await fail(4)).map((a) => a.kind)).toEqual([]);
    });
  });
});
