import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { AppConfig } from 'src/config/app-config.service';

/** Prices that turn counters into money (COST_PER_* settings). */
export interface Prices {
  perCallEur: number;
  perCpuSecondEur: number;
}

/** The prices the COST_PER_* settings give. */
export function pricesOf(config: AppConfig): Prices {
  return {
    perCallEur: config.get('COST_PER_DOWNSTREAM_CALL_EUR'),
    perCpuSecondEur: config.get('COST_PER_CPU_SECOND_EUR'),
  };
}

export interface DayWindow {
  date: string;
  start: Date;
  end: Date;
}

export interface RollupRow {
  metric_date: string;
  workflow_name: string;
  total_executions: number;
  successful_executions: number;
  failed_executions: number;
  avg_duration_seconds: number | null;
  min_duration_seconds: number | null;
  max_duration_seconds: number | null;
  success_rate_percentage: number | null;
  avg_retry_count: number | null;
  skipped_slots: number;
  tenant_executions: number;
  tenant_failures: number;
  tenants: number;
  downstream_calls: number;
  cpu_seconds: number;
  cost_eur: number;
  cost_per_tenant_eur: number | null;
  deadline_misses: number;
  calculated_at: Date;
}

export interface CostIncrement {
  executionId: string;
  runId: string;
  workflowName: string;
  tenantId: string;
  downstreamCalls: number;
  stepAttempts: number;
  failedAttempts: number;
  stepSeconds: number;
  cpuSeconds: number;
}

/** A run is a parent execution: tenant NULL and no parent of its own. */
const RUN = `tenant_id IS NULL AND parent_execution_id IS NULL`;
const FINISHED = `status IN ('completed', 'failed', 'cancelled')`;
/**
 * A run lasts from its creation to its close (as run-completer measures it), in
 * milliseconds: duration_seconds is whole seconds, so runs under a second would all be 0.
 */
const RUN_MS = `(extract(epoch FROM (completed_at - created_at)) * 1000)`;
/** A tenant execution lasts from its first claim to its end, in milliseconds. */
const TENANT_MS = `(extract(epoch FROM (completed_at - COALESCE(started_at, created_at))) * 1000)`;

/**
 * The figures of one local day per workflow ($1 date, $2/$3 its bounds, $4/$5 prices): the
 * daily rollup upserts them, and GET /metrics shows them live for a day not rolled up yet.
 */
const DAY_FIGURES = `WITH runs AS (
         SELECT id, workflow_name, status, duration_seconds
           FROM orchestrator_executions
          WHERE ${RUN} AND ${FINISHED} AND created_at >= $2 AND created_at < $3
       ),
       skipped AS (
         SELECT workflow_name, count(*)::int AS n
           FROM orchestrator_executions
          WHERE ${RUN} AND status = 'skipped' AND scheduled_for >= $2 AND scheduled_for < $3
          GROUP BY workflow_name
       ),
       run_agg AS (
         SELECT workflow_name,
                count(*)::int AS total,
                count(*) FILTER (WHERE status = 'completed')::int AS ok,
                count(*) FILTER (WHERE status <> 'completed')::int AS failed,
                round(avg(duration_seconds))::int AS avg_d,
                min(duration_seconds) AS min_d,
                max(duration_seconds) AS max_d
           FROM runs GROUP BY workflow_name
       ),
       kids AS (
         SELECT r.workflow_name,
                count(*)::int AS n,
                count(*) FILTER (WHERE c.status IN ('failed', 'cancelled'))::int AS failures,
                count(DISTINCT c.tenant_id)::int AS tenants,
                avg(c.attempt - 1) AS avg_retries
           FROM runs r JOIN orchestrator_executions c ON c.parent_execution_id = r.id
          GROUP BY r.workflow_name
       ),
       costs AS (
         SELECT r.workflow_name, sum(k.downstream_calls)::bigint AS calls, sum(k.cpu_seconds) AS cpu
           FROM runs r JOIN orchestrator_execution_costs k ON k.run_id = r.id
          GROUP BY r.workflow_name
       ),
       deadlines AS (
         SELECT r.workflow_name, sum(d.tenants_missed)::int AS missed
           FROM runs r JOIN orchestrator_deadline_results d ON d.run_id = r.id
          GROUP BY r.workflow_name
       ),
       names AS (SELECT workflow_name FROM run_agg UNION SELECT workflow_name FROM skipped),
       figures AS (
         SELECT n.workflow_name, a.total, a.ok, a.failed, a.avg_d, a.min_d, a.max_d, s.n AS skipped,
                k.n AS kids, k.failures, k.tenants, k.avg_retries,
                COALESCE(c.calls, 0) AS calls, COALESCE(c.cpu, 0) AS cpu,
                COALESCE(c.calls, 0) * $4::numeric + COALESCE(c.cpu, 0) * $5::numeric AS cost,
                dl.missed
           FROM names n
           LEFT JOIN run_agg a USING (workflow_name)
           LEFT JOIN skipped s USING (workflow_name)
           LEFT JOIN kids k USING (workflow_name)
           LEFT JOIN costs c USING (workflow_name)
           LEFT JOIN deadlines dl USING (workflow_name)
       )`;

const ROLLUP_COLUMNS = `metric_date::text AS metric_date, workflow_name, total_executions, successful_executions,
  failed_executions, avg_duration_seconds, min_duration_seconds, max_duration_seconds,
  success_rate_percentage::float8 AS success_rate_percentage, avg_retry_count::float8 AS avg_retry_count,
  skipped_slots, tenant_executions, tenant_failures, tenants, downstream_calls::float8 AS downstream_calls,
  cpu_seconds::float8 AS cpu_seconds, cost_eur::float8 AS cost_eur,
  cost_per_tenant_eur::float8 AS cost_per_tenant_eur, deadline_misses, calculated_at`;

/**
 * The metrics module's SQL. It writes only its own tables (orchestrator_metrics,
 * orchestrator_execution_costs); it reads orchestrator_executions and
 * orchestrator_execution_steps read-only, as a reporting read model over the
 * specification's columns: aggregates over millions of rows belong in one SQL statement,
 * not in a facade call per row.
 */
@Injectable()
export class MetricsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Recomputes the rollup rows of each day (one transaction for all): upserts one row
   * per workflow that ran or skipped a slot that day, and deletes rows of that day for
   * workflows that no longer have any, so re-running a day replaces it exactly.
   */
  async rollupDays(days: DayWindow[], prices: Prices, calculatedAt: Date): Promise<RollupRow[]> {
    return this.dataSource.transaction(async (tx) => {
      const written: RollupRow[] = [];
      for (const day of days)
        written.push(...(await this.rollupDay(tx, day, prices, calculatedAt)));
      return written;
    });
  }

  private async rollupDay(
    tx: EntityManager,
    day: DayWindow,
    prices: Prices,
    calculatedAt: Date,
  ): Promise<RollupRow[]> {
    const rows: RollupRow[] = await tx.query(
      `${DAY_FIGURES}
       INSERT INTO orchestrator_metrics AS m
         (metric_date, workflow_name, total_executions, successful_executions, failed_executions,
          avg_duration_seconds, min_duration_seconds, max_duration_seconds, success_rate_percentage,
          avg_retry_count, calculated_at, skipped_slots, tenant_executions, tenant_failures, tenants,
          downstream_calls, cpu_seconds, cost_eur, cost_per_tenant_eur, deadline_misses)
       SELECT $1::date, workflow_name, COALESCE(total, 0), COALESCE(ok, 0), COALESCE(failed, 0),
              avg_d, min_d, max_d,
              CASE WHEN COALESCE(total, 0) > 0 THEN round(100.0 * ok / total, 2) END,
              round(avg_retries, 2), $6, COALESCE(skipped, 0), COALESCE(kids, 0),
              COALESCE(failures, 0), COALESCE(tenants, 0), calls, round(cpu, 3), round(cost, 4),
              CASE WHEN COALESCE(tenants, 0) > 0 THEN round(cost / tenants, 6) END,
              COALESCE(missed, 0)
         FROM figures
       ON CONFLICT (metric_date, workflow_name) DO UPDATE SET
         total_executions = EXCLUDED.total_executions,
         successful_executions = EXCLUDED.successful_executions,
         failed_executions = EXCLUDED.failed_executions,
         avg_duration_seconds = EXCLUDED.avg_duration_seconds,
         min_duration_seconds = EXCLUDED.min_duration_seconds,
         max_duration_seconds = EXCLUDED.max_duration_seconds,
         success_rate_percentage = EXCLUDED.success_rate_percentage,
         avg_retry_count = EXCLUDED.avg_retry_count,
         calculated_at = EXCLUDED.calculated_at,
         skipped_slots = EXCLUDED.skipped_slots,
         tenant_executions = EXCLUDED.tenant_executions,
         tenant_failures = EXCLUDED.tenant_failures,
         tenants = EXCLUDED.tenants,
         downstream_calls = EXCLUDED.downstream_calls,
         cpu_seconds = EXCLUDED.cpu_seconds,
         cost_eur = EXCLUDED.cost_eur,
         cost_per_tenant_eur = EXCLUDED.cost_per_tenant_eur,
         deadline_misses = EXCLUDED.deadline_misses
       RETURNING ${ROLLUP_COLUMNS}`,
      [day.date, day.start, day.end, prices.perCallEur, prices.perCpuSecondEur, calculatedAt],
    );
    const names = rows.map((r) => r.workflow_name);
    await tx.query(
      `DELETE FROM orchestrator_metrics
        WHERE metric_date = $1::date AND (workflow_name IS NULL OR NOT (workflow_name = ANY($2::varchar[])))`,
      [day.date, names],
    );
    return rows.map(numbersOf);
  }

  async listRollups(f: { from: string; to: string; workflow?: string }): Promise<RollupRow[]> {
    const rows: RollupRow[] = await this.dataSource.query(
      `SELECT ${ROLLUP_COLUMNS} FROM orchestrator_metrics
        WHERE metric_date >= $1::date AND metric_date <= $2::date
          AND workflow_name IS NOT NULL AND ($3::text IS NULL OR workflow_name = $3)
        ORDER BY metric_date, workflow_name`,
      [f.from, f.to, f.workflow ?? null],
    );
    return rows.map(numbersOf);
  }

  /** One day's figures computed now, as the rollup would write them, without writing. */
  async liveDay(day: DayWindow, prices: Prices, calculatedAt: Date): Promise<RollupRow[]> {
    const rows: RollupRow[] = await this.dataSource.query(
      `${DAY_FIGURES}
       SELECT $1::text AS metric_date, workflow_name,
              COALESCE(total, 0)::int AS total_executions,
              COALESCE(ok, 0)::int AS successful_executions,
              COALESCE(failed, 0)::int AS failed_executions,
              avg_d AS avg_duration_seconds, min_d AS min_duration_seconds,
              max_d AS max_duration_seconds,
              (CASE WHEN COALESCE(total, 0) > 0 THEN round(100.0 * ok / total, 2) END)::float8
                AS success_rate_percentage,
              round(avg_retries, 2)::float8 AS avg_retry_count,
              COALESCE(skipped, 0)::int AS skipped_slots, COALESCE(kids, 0)::int AS tenant_executions,
              COALESCE(failures, 0)::int AS tenant_failures, COALESCE(tenants, 0)::int AS tenants,
              calls::float8 AS downstream_calls, round(cpu, 3)::float8 AS cpu_seconds,
              round(cost, 4)::float8 AS cost_eur,
              (CASE WHEN COALESCE(tenants, 0) > 0 THEN round(cost / tenants, 6) END)::float8
                AS cost_per_tenant_eur,
              COALESCE(missed, 0)::int AS deadline_misses, $6::timestamptz AS calculated_at
         FROM figures
        ORDER BY workflow_name`,
      [day.date, day.start, day.end, prices.perCallEur, prices.perCpuSecondEur, calculatedAt],
    );
    return rows.map(numbersOf);
  }

  /** Adds to the cost counters of tenant executions (one multi-row upsert). */
  async addCosts(rows: CostIncrement[]): Promise<void> {
    if (rows.length === 0) return;
    await this.dataSource.query(
      `INSERT INTO orchestrator_execution_costs AS k
         (execution_id, run_id, workflow_name, tenant_id, downstream_calls, step_attempts,
          failed_attempts, step_seconds, cpu_seconds, updated_at)
       SELECT *, now() FROM unnest($1::uuid[], $2::uuid[], $3::varchar[], $4::uuid[], $5::int[],
                                   $6::int[], $7::int[], $8::numeric[], $9::numeric[])
       ON CONFLICT (execution_id) DO UPDATE SET
         downstream_calls = k.downstream_calls + EXCLUDED.downstream_calls,
         step_attempts = k.step_attempts + EXCLUDED.step_attempts,
         failed_attempts = k.failed_attempts + EXCLUDED.failed_attempts,
         step_seconds = k.step_seconds + EXCLUDED.step_seconds,
         cpu_seconds = k.cpu_seconds + EXCLUDED.cpu_seconds,
         updated_at = now()`,
      [
        rows.map((r) => r.executionId),
        rows.map((r) => r.runId),
        rows.map((r) => r.workflowName),
        rows.map((r) => r.tenantId),
        rows.map((r) => r.downstreamCalls),
        rows.map((r) => r.stepAttempts),
        rows.map((r) => r.failedAttempts),
        rows.map((r) => r.stepSeconds.toFixed(3)),
        rows.map((r) => r.cpuSeconds.toFixed(6)),
      ],
    );
  }

  /** What Prometheus reads at scrape time (figures every replica reports alike). */
  async scrapeSnapshot(now: Date) {
    const since7d = new Date(now.getTime() - 7 * 86400_000);
    const [rates, inFlight, skipped] = await Promise.all([
      this.dataSource.query(
        `SELECT workflow_name, count(*)::int AS total,
                count(*) FILTER (WHERE status = 'completed')::int AS ok
           FROM orchestrator_executions
          WHERE ${RUN} AND ${FINISHED} AND completed_at >= $1
          GROUP BY workflow_name`,
        [since7d],
      ) as Promise<{ workflow_name: string; total: number; ok: number }[]>,
      this.dataSource.query(
        `SELECT workflow_name, status, count(*)::int AS n
           FROM orchestrator_executions
          WHERE status IN ('running', 'pending') AND tenant_id IS NOT NULL
          GROUP BY workflow_name, status`,
      ) as Promise<{ workflow_name: string; status: string; n: number }[]>,
      this.dataSource.query(
        `SELECT workflow_name,
                CASE WHEN error_message LIKE 'missed:%' THEN 'missed'
                     WHEN error_message LIKE 'overlap:%' THEN 'overlap'
                     ELSE 'calendar' END AS kind,
                count(*)::int AS n
           FROM orchestrator_executions
          WHERE ${RUN} AND status = 'skipped'
          GROUP BY 1, 2`,
      ) as Promise<{ workflow_name: string; kind: string; n: number }[]>,
    ]);
    return { rates, inFlight, skipped };
  }

  /** Runs finished since each window start, by status (success rates over 24 h / 7 d / 30 d). */
  async runOutcomes(now: Date) {
    const at = (days: number) => new Date(now.getTime() - days * 86400_000);
    const [row] = await this.dataSource.query(
      `SELECT count(*) FILTER (WHERE completed_at >= $1)::int AS total_24h,
              count(*) FILTER (WHERE completed_at >= $1 AND status = 'completed')::int AS ok_24h,
              count(*) FILTER (WHERE completed_at >= $2)::int AS total_7d,
              count(*) FILTER (WHERE completed_at >= $2 AND status = 'completed')::int AS ok_7d,
              count(*)::int AS total_30d,
              count(*) FILTER (WHERE status = 'completed')::int AS ok_30d
         FROM orchestrator_executions
        WHERE ${RUN} AND ${FINISHED} AND completed_at >= $3 AND completed_at <= $4`,
      [at(1), at(7), at(30), now],
    );
    return row as Record<`${'total' | 'ok'}_${'24h' | '7d' | '30d'}`, number>;
  }

  /** p50/p95 run duration (ms) per workflow over the window, slowest (p95) first. */
  async runDurations(since: Date, now: Date) {
    return (await this.dataSource.query(
      `SELECT workflow_name, count(*)::int AS runs,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY ${RUN_MS})::float8 AS p50_ms,
              percentile_cont(0.95) WITHIN GROUP (ORDER BY ${RUN_MS})::float8 AS p95_ms,
              max(${RUN_MS})::float8 AS max_ms,
              count(*) FILTER (WHERE status = 'completed')::int AS ok
         FROM orchestrator_executions
        WHERE ${RUN} AND ${FINISHED} AND completed_at IS NOT NULL
          AND completed_at >= $1 AND completed_at <= $2
        GROUP BY workflow_name
        ORDER BY p95_ms DESC, workflow_name`,
      [since, now],
    )) as {
      workflow_name: string;
      runs: number;
      p50_ms: number;
      p95_ms: number;
      max_ms: number;
      ok: number;
    }[];
  }

  /** Overall p50/p95 (ms) over every run of the window. */
  async overallDurations(since: Date, now: Date) {
    const [row] = await this.dataSource.query(
      `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ${RUN_MS})::float8 AS p50_ms,
              percentile_cont(0.95) WITHIN GROUP (ORDER BY ${RUN_MS})::float8 AS p95_ms
         FROM orchestrator_executions
        WHERE ${RUN} AND ${FINISHED} AND completed_at IS NOT NULL
          AND completed_at >= $1 AND completed_at <= $2`,
      [since, now],
    );
    return row as { p50_ms: number | null; p95_ms: number | null };
  }

  /** The tenants whose executions took longest on average over the window. */
  async slowestTenants(since: Date, now: Date, limit: number) {
    return (await this.dataSource.query(
      `SELECT tenant_id, workflow_name, count(*)::int AS executions,
              round(avg(${TENANT_MS}))::float8 AS avg_ms,
              round(max(${TENANT_MS}))::float8 AS max_ms
         FROM orchestrator_executions
        WHERE tenant_id IS NOT NULL AND ${FINISHED} AND completed_at IS NOT NULL
          -- started_at bound: lets idx_executions_status (status, started_at) find them
          AND started_at >= $1::timestamptz - interval '1 day'
          AND completed_at >= $1 AND completed_at <= $2
        GROUP BY tenant_id, workflow_name
        ORDER BY avg_ms DESC, max_ms DESC, tenant_id
        LIMIT $3`,
      [since, now, limit],
    )) as {
      tenant_id: string;
      workflow_name: string;
      executions: number;
      avg_ms: number;
      max_ms: number;
    }[];
  }

  /**
   * Cost per tenant per day over the window: counters of the tenant executions of runs
   * started in it, grouped by the run's local date and the tenant.
   */
  async costPerTenantDay(since: Date, now: Date, zone: string, prices: Prices) {
    const [row] = await this.dataSource.query(
      `WITH per_tenant_day AS (
         SELECT (r.created_at AT TIME ZONE $3)::date AS d, k.tenant_id,
                sum(k.downstream_calls) AS calls, sum(k.cpu_seconds) AS cpu,
                sum(k.downstream_calls) * $4::numeric + sum(k.cpu_seconds) * $5::numeric AS cost
           FROM (SELECT id, created_at FROM orchestrator_executions
                  WHERE ${RUN} AND created_at >= $1 AND created_at <= $2) r
           JOIN orchestrator_execution_costs k ON k.run_id = r.id
          GROUP BY 1, 2
       )
       SELECT count(*)::int AS tenant_days, COALESCE(sum(calls), 0)::float8 AS downstream_calls,
              COALESCE(sum(cpu), 0)::float8 AS cpu_seconds, COALESCE(sum(cost), 0)::float8 AS cost_eur,
              avg(cost)::float8 AS avg_per_tenant_day,
              percentile_cont(0.95) WITHIN GROUP (ORDER BY cost)::float8 AS p95_per_tenant_day,
              max(cost)::float8 AS max_per_tenant_day
         FROM per_tenant_day`,
      [since, now, zone, prices.perCallEur, prices.perCpuSecondEur],
    );
    return row as {
      tenant_days: number;
      downstream_calls: number;
      cpu_seconds: number;
      cost_eur: number;
      avg_per_tenant_day: number | null;
      p95_per_tenant_day: number | null;
      max_per_tenant_day: number | null;
    };
  }

  /**
   * Forecast accuracy from the validate_forecasts step results of the window: per tenant
   * the latest overall MAPE, the first one in the window and the least-squares slope
   * (MAPE points per day), worst latest first.
   */
  async forecastAccuracy(
    since: Date,
    now: Date,
    o: { threshold: number; limit: number; zone: string },
  ) {
    const validated = `
      SELECT c.tenant_id, (s.result->>'overall_mape')::float8 AS mape, s.completed_at
        FROM (SELECT id FROM orchestrator_executions
               WHERE ${RUN} AND created_at >= $1 AND created_at <= $2) r
        JOIN orchestrator_executions c ON c.parent_execution_id = r.id
        JOIN orchestrator_execution_steps s
          ON s.execution_id = c.id AND s.step_name = 'validate_forecasts'
       WHERE s.status = 'completed' AND jsonb_typeof(s.result->'overall_mape') = 'number'`;
    const perTenant = `
      SELECT tenant_id, count(*)::int AS samples,
             (array_agg(mape ORDER BY completed_at DESC))[1] AS latest_mape,
             (array_agg(mape ORDER BY completed_at ASC))[1] AS first_mape,
             max(completed_at) AS validated_at,
             regr_slope(mape, extract(epoch FROM completed_at) / 86400)::float8 AS slope_per_day
        FROM (${validated}) v GROUP BY tenant_id`;
    // one pass over the window: the worst tenants, with the totals as window aggregates
    const worst = (await this.dataSource.query(
      `SELECT t.*, count(*) OVER ()::int AS tenants,
              (avg(latest_mape) OVER ())::float8 AS avg_latest_mape,
              (count(*) FILTER (WHERE latest_mape > $3) OVER ())::int AS above_threshold
         FROM (${perTenant}) t
        ORDER BY latest_mape DESC, tenant_id LIMIT $4`,
      [since, now, o.threshold, o.limit],
    )) as {
      tenant_id: string;
      samples: number;
      latest_mape: number;
      first_mape: number;
      validated_at: Date;
      slope_per_day: number | null;
      tenants: number;
      avg_latest_mape: number | null;
      above_threshold: number;
    }[];
    const summary = {
      tenants: worst[0]?.tenants ?? 0,
      avg_latest_mape: worst[0]?.avg_latest_mape ?? null,
      above_threshold: worst[0]?.above_threshold ?? 0,
    };
    const daily = (await this.dataSource.query(
      `SELECT (completed_at AT TIME ZONE $3)::date::text AS date, count(*)::int AS validations,
              round(avg(mape)::numeric, 2)::float8 AS avg_mape
         FROM (${validated}) v
        GROUP BY 1 ORDER BY 1`,
      [since, now, o.zone],
    )) as { date: string; validations: number; avg_mape: number }[];
    return {
      summary: summary as {
        tenants: number;
        avg_latest_mape: number | null;
        above_threshold: number;
      },
      worst,
      daily,
    };
  }

  /**
   * The newest heartbeat of each workflow: its last completed scheduled (or caught-up) run,
   * or calendar-skipped slot. A manual run, backfill or retry says nothing about whether the
   * schedule still fires, so it does not reset the switch.
   */
  async heartbeats() {
    return (await this.dataSource.query(
      `SELECT workflow_name,
              max(completed_at) FILTER (
                WHERE status = 'completed' AND execution_type IN ('scheduled', 'catch_up')
              ) AS last_completed_at,
              max(scheduled_for) FILTER (
                WHERE status = 'skipped' AND error_message NOT LIKE 'missed:%'
                  AND error_message NOT LIKE 'overlap:%') AS last_planned_skip_at
         FROM orchestrator_executions
        WHERE ${RUN}
        GROUP BY workflow_name`,
    )) as {
      workflow_name: string;
      last_completed_at: Date | null;
      last_planned_skip_at: Date | null;
    }[];
  }
}

function numbersOf(r: RollupRow): RollupRow {
  return {
    ...r,
    downstream_calls: Number(r.downstream_calls),
    calculated_at: new Date(r.calculated_at),
  };
}
