import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { Clock } from 'src/common/time/clock';
import { AppConfig } from 'src/config/app-config.service';
import { validateEnv } from 'src/config/validate-env';
import { buildDataSourceOptions } from 'src/database/data-source';
import { MetricsRepository } from 'src/metrics/metrics.repository';
import { runRollupCommand } from 'src/metrics/rollup.command';
import { MetricsRollupService } from 'src/metrics/rollup.service';
import { describeWith } from '../utils/services';
import { createTestDatabase, TestDatabase } from '../utils/test-db';

class FixedClock extends Clock {
  constructor(private readonly at: Date) {
    super();
  }
  now(): Date {
    return this.at;
  }
}

interface Child {
  status: 'completed' | 'failed' | 'cancelled';
  attempt: number;
  calls?: number;
  cpu?: number;
}

/**
 * A day with known executions (Madrid local date 2026-03-10 = 2026-03-09T23:00Z to
 * 2026-03-10T23:00Z) and the exact figures the rollup must give for it.
 */
describeWith(['postgres'], 'daily rollup into orchestrator_metrics', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let service: MetricsRollupService;
  const env = validateEnv({
    DEFAULT_TIMEZONE: 'Europe/Madrid',
    COST_PER_DOWNSTREAM_CALL_EUR: '0.002',
    COST_PER_CPU_SECOND_EUR: '0.01',
  });

  async function run(o: {
    workflow: string;
    createdAt: string;
    status: 'completed' | 'failed' | 'running' | 'skipped';
    duration?: number;
    children?: Child[];
    reason?: string;
  }): Promise<string> {
    const id = randomUUID();
    const created = new Date(o.createdAt);
    const finished =
      o.duration !== undefined ? new Date(created.getTime() + o.duration * 1000) : null;
    await ds.query(
      `INSERT INTO orchestrator_executions
         (id, workflow_name, execution_type, status, created_at, completed_at, duration_seconds,
          scheduled_for, error_message)
       VALUES ($1, $2, 'scheduled', $3, $4, $5, $6, $4, $7)`,
      [id, o.workflow, o.status, created, finished, o.duration ?? null, o.reason ?? null],
    );
    for (const c of o.children ?? []) {
      const childId = randomUUID();
      const tenant = randomUUID();
      await ds.query(
        `INSERT INTO orchestrator_executions
           (id, workflow_name, execution_type, status, created_at, completed_at, duration_seconds,
            scheduled_for, parent_execution_id, tenant_id, attempt)
         VALUES ($1, $2, 'scheduled', $3, $4, $5, 10, $4, $6, $7, $8)`,
        [childId, o.workflow, c.status, created, finished, id, tenant, c.attempt],
      );
      if (c.calls !== undefined) {
        await ds.query(
          `INSERT INTO orchestrator_execution_costs
             (execution_id, run_id, workflow_name, tenant_id, downstream_calls, step_attempts, cpu_seconds)
           VALUES ($1, $2, $3, $4, $5, $5, $6)`,
          [childId, id, o.workflow, tenant, c.calls, c.cpu ?? 0],
        );
      }
    }
    return id;
  }

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    ds = new DataSource(buildDataSourceOptions({ DATABASE_URL: db.url, DATA_DIR: '' }));
    await ds.initialize();
    service = new MetricsRollupService(
      new MetricsRepository(ds),
      new FixedClock(new Date('2026-03-11T00:15:00Z')),
      new AppConfig(env),
    );

    // daily_operations on 2026-03-10 (Madrid): two completed runs, one failed run
    await run({
      workflow: 'daily_operations',
      createdAt: '2026-03-09T23:30:00Z', // 00:30 local on the 10th: counts for the 10th
      status: 'completed',
      duration: 100,
      children: [
        { status: 'completed', attempt: 1, calls: 6, cpu: 0.5 },
        { status: 'completed', attempt: 2, calls: 7, cpu: 0.5 },
      ],
    });
    await run({
      workflow: 'daily_operations',
      createdAt: '2026-03-10T07:00:00Z',
      status: 'completed',
      duration: 200,
      children: [{ status: 'completed', attempt: 1, calls: 6, cpu: 1 }],
    });
    await run({
      workflow: 'daily_operations',
      createdAt: '2026-03-10T12:00:00Z',
      status: 'failed',
      duration: 301,
      children: [
        { status: 'failed', attempt: 4, calls: 12, cpu: 2 },
        { status: 'cancelled', attempt: 1, calls: 3, cpu: 0 },
      ],
    });
    // not counted for the 10th: still running; before the day; after the day (local)
    await run({
      workflow: 'daily_operations',
      createdAt: '2026-03-10T13:00:00Z',
      status: 'running',
    });
    await run({
      workflow: 'daily_operations',
      createdAt: '2026-03-09T22:59:59Z',
      status: 'completed',
      duration: 5,
    });
    await run({
      workflow: 'daily_operations',
      createdAt: '2026-03-10T23:00:00Z',
      status: 'completed',
      duration: 5,
    });
    // weekly_digest: only a skipped (missed) slot that day
    await run({
      workflow: 'weekly_digest',
      createdAt: '2026-03-10T08:00:00Z',
      status: 'skipped',
      reason: 'missed: no leader between ...',
    });
  });

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  const rowsOf = async (date: string) =>
    (await new MetricsRepository(ds).listRollups({ from: date, to: date })).map((r) => ({
      ...r,
      calculated_at: undefined,
    }));

  it('gives exactly the expected figures for a day with known executions', async () => {
    await service.rollup('2026-03-10', '2026-03-10');
    expect(await rowsOf('2026-03-10')).toEqual([
      {
        metric_date: '2026-03-10',
        workflow_name: 'daily_operations',
        total_executions: 3,
        successful_executions: 2,
        failed_executions: 1,
        avg_duration_seconds: 200, // (100 + 200 + 301) / 3 = 200.33
        min_duration_seconds: 100,
        max_duration_seconds: 301,
        success_rate_percentage: 66.67,
        avg_retry_count: 0.8, // retries (0 + 1 + 0 + 3 + 0) / 5 tenant executions
        skipped_slots: 0,
        tenant_executions: 5,
        tenant_failures: 2,
        tenants: 5,
        downstream_calls: 34,
        cpu_seconds: 4,
        cost_eur: 0.108, // 34 x 0.002 + 4 x 0.01
        cost_per_tenant_eur: 0.0216,
        deadline_misses: 0,
        calculated_at: undefined,
      },
      {
        metric_date: '2026-03-10',
        workflow_name: 'weekly_digest',
        total_executions: 0,
        successful_executions: 0,
        failed_executions: 0,
        avg_duration_seconds: null,
        min_duration_seconds: null,
        max_duration_seconds: null,
        success_rate_percentage: null,
        avg_retry_count: null,
        skipped_slots: 1,
        tenant_executions: 0,
        tenant_failures: 0,
        tenants: 0,
        downstream_calls: 0,
        cpu_seconds: 0,
        cost_eur: 0,
        cost_per_tenant_eur: null,
        deadline_misses: 0,
        calculated_at: undefined,
      },
    ]);
  });

  it('is idempotent: re-running the day replaces its rows with the same figures', async () => {
    const before = await rowsOf('2026-03-10');
    await service.rollup('2026-03-10', '2026-03-10');
    await service.rollup('2026-03-09', '2026-03-11');
    expect(await rowsOf('2026-03-10')).toEqual(before);
    const [{ n }] = await ds.query(
      `SELECT count(*)::int AS n FROM orchestrator_metrics WHERE metric_date = '2026-03-10'`,
    );
    expect(n).toBe(2);
  });

  it('follows changes: a run finishing later and a workflow that no longer has any run', async () => {
    await ds.query(
      `UPDATE orchestrator_executions SET status = 'completed', duration_seconds = 400,
              completed_at = created_at + interval '400 seconds'
        WHERE status = 'running'`,
    );
    await ds.query(`DELETE FROM orchestrator_executions WHERE workflow_name = 'weekly_digest'`);
    await service.rollup('2026-03-10', '2026-03-10');
    const rows = await rowsOf('2026-03-10');
    expect(rows.map((r) => r.workflow_name)).toEqual(['daily_operations']);
    expect(rows[0]).toMatchObject({
      total_executions: 4,
      successful_executions: 3,
      max_duration_seconds: 400,
      success_rate_percentage: 75,
    });
  });

  it('backfills a range from the CLI, one JSON line per chunk', async () => {
    const lines: string[] = [];
    const code = await runRollupCommand(
      ['--from', '2026-03-08', '--to', '2026-03-11'],
      { ...env, DATABASE_URL: db.url },
      (l) => lines.push(l),
    );
    expect(code).toBe(0);
    expect(JSON.parse(lines[0])).toEqual({
      from: '2026-03-08',
      to: '2026-03-11',
      days: 4,
      rows: 3,
    });
    const dates = await ds.query(
      `SELECT metric_date::text AS d, workflow_name FROM orchestrator_metrics ORDER BY 1, 2`,
    );
    expect(dates).toEqual([
      { d: '2026-03-09', workflow_name: 'daily_operations' },
      { d: '2026-03-10', workflow_name: 'daily_operations' },
      { d: '2026-03-11', workflow_name: 'daily_operations' },
    ]);
    const usage: string[] = [];
    expect(await runRollupCommand(['--from', '2026-02-30'], env, (l) => usage.push(l))).toBe(2);
    expect(usage[0]).toContain('metrics:rollup --from YYYY-MM-DD --to YYYY-MM-DD');
  });

  it('refuses ranges that are not dates, reversed, or longer than a year', async () => {
    await expect(service.rollup('2026-03-10', '2026-03-09')).rejects.toMatchObject({
      code: 'METRICS_INVALID_QUERY',
    });
    await expect(service.rollup('2025-01-01', '2026-03-09')).rejects.toMatchObject({
      code: 'METRICS_INVALID_QUERY',
    });
    await expect(service.rollup('2026-3-1', '2026-03-09')).rejects.toMatchObject({
      code: 'METRICS_INVALID_QUERY',
    });
  });
});
