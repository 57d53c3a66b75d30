import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { returnedRows } from 'src/common/sql/query-result';
import type { Transaction } from 'src/database/transaction';
import type { AlertKind, AlertSeverity } from './alert.event';

export interface AlertDraft {
  conditionKey: string;
  kind: AlertKind;
  severity: AlertSeverity;
  workflowName: string | null;
  message: string;
  details: Record<string, unknown>;
  openedAt: Date;
}

export interface AlertRow extends AlertDraft {
  id: string;
  clearedAt: Date | null;
  clearedReason: string | null;
  eventId: string | null;
}

export interface DeadlineVerdict {
  runId: string;
  workflowName: string;
  localDate: string;
  total: number;
  onTime: number;
  missed: number;
  byTier: Record<string, { total: number; on_time: number; missed: number; deadline: string }>;
  evaluatedAt: Date;
}

const ALERT_COLUMNS = `id, condition_key, kind, workflow_name, severity, message, details, opened_at,
  cleared_at, cleared_reason, event_id`;

/**
 * orchestrator_alerts and orchestrator_deadline_results (owned by src/metrics), and the
 * read-only execution queries the alert conditions need.
 */
@Injectable()
export class AlertsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(fn);
  }

  /** Opens the alert unless one is open for its condition (then null: it fires once). */
  async open(tx: EntityManager, a: AlertDraft): Promise<AlertRow | null> {
    const rows = returnedRows<Record<string, any>>(
      await tx.query(
        `INSERT INTO orchestrator_alerts
           (condition_key, kind, workflow_name, severity, message, details, opened_at)
         VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)
         ON CONFLICT (condition_key) WHERE cleared_at IS NULL DO NOTHING
         RETURNING ${ALERT_COLUMNS}`,
        [
          a.conditionKey,
          a.kind,
          a.workflowName,
          a.severity,
          a.message,
          JSON.stringify(a.details),
          a.openedAt,
        ],
      ),
    );
    return rows[0] ? toAlert(rows[0]) : null;
  }

  async setEvent(tx: EntityManager, id: string, eventId: string): Promise<void> {
    await tx.query(`UPDATE orchestrator_alerts SET event_id = $2 WHERE id = $1`, [id, eventId]);
  }

  /** Clears the open alerts of these conditions; returns those it cleared. */
  async clear(tx: EntityManager, keys: string[], at: Date, reason: string): Promise<AlertRow[]> {
    if (keys.length === 0) return [];
    const rows = returnedRows<Record<string, any>>(
      await tx.query(
        `UPDATE orchestrator_alerts SET cleared_at = $2, cleared_reason = $3
          WHERE cleared_at IS NULL AND condition_key = ANY($1::varchar[])
          RETURNING ${ALERT_COLUMNS}`,
        [keys, at, reason],
      ),
    );
    return rows.map(toAlert);
  }

  async listOpen(): Promise<AlertRow[]> {
    const rows: Record<string, any>[] = await this.dataSource.query(
      `SELECT ${ALERT_COLUMNS} FROM orchestrator_alerts WHERE cleared_at IS NULL ORDER BY opened_at DESC`,
    );
    return rows.map(toAlert);
  }

  async countOpenByKind(): Promise<{ kind: string; n: number }[]> {
    return this.dataSource.query(
      `SELECT kind, count(*)::int AS n FROM orchestrator_alerts WHERE cleared_at IS NULL GROUP BY kind`,
    );
  }

  /** Durations (ms) of the workflow's last completed runs, newest first (excluding one run). */
  async recentDurationsMs(workflowName: string, excludeRunId: string | null, limit: number) {
    const rows: { ms: number }[] = await this.dataSource.query(
      `SELECT extract(epoch FROM (completed_at - created_at))::float8 * 1000 AS ms
         FROM orchestrator_executions
        WHERE tenant_id IS NULL AND parent_execution_id IS NULL AND workflow_name = $1
          AND status = 'completed' AND completed_at IS NOT NULL
          AND ($2::uuid IS NULL OR id <> $2)
        ORDER BY completed_at DESC LIMIT $3`,
      [workflowName, excludeRunId, limit],
    );
    return rows.map((r) => Number(r.ms));
  }

  /** How long a closed run took (ms, as run-completer measures it: creation to close). */
  async runDurationMs(runId: string): Promise<number | null> {
    const [row] = await this.dataSource.query(
      `SELECT extract(epoch FROM (completed_at - created_at))::float8 * 1000 AS ms
         FROM orchestrator_executions WHERE id = $1 AND completed_at IS NOT NULL`,
      [runId],
    );
    return row ? Number(row.ms) : null;
  }

  /** A run's tenants that did not complete (failed or cancelled), at most `limit`, by tenant. */
  async unsuccessfulTenants(
    runId: string,
    limit: number,
  ): Promise<
    { tenant_id: string; execution_id: string; status: string; error_message: string | null }[]
  > {
    return this.dataSource.query(
      `SELECT tenant_id, id AS execution_id, status, error_message FROM orchestrator_executions
        WHERE parent_execution_id = $1 AND status IN ('failed', 'cancelled')
        ORDER BY tenant_id LIMIT $2`,
      [runId, limit],
    );
  }

  /** Open tenant_failing conditions of a workflow whose tenant completed in this run. */
  async recoveredTenantConditions(runId: string, workflowName: string): Promise<string[]> {
    const rows: { condition_key: string }[] = await this.dataSource.query(
      `SELECT a.condition_key FROM orchestrator_alerts a
         JOIN orchestrator_executions e
           ON e.parent_execution_id = $1 AND e.status = 'completed'
          AND a.condition_key = 'tenant_failing:' || $2 || ':' || e.tenant_id::text
        WHERE a.kind = 'tenant_failing' AND a.workflow_name = $2 AND a.cleared_at IS NULL`,
      [runId, workflowName],
    );
    return rows.map((r) => r.condition_key);
  }

  /** Runs still open, with their age basis (created_at). */
  async openRuns(): Promise<{ id: string; workflow_name: string; created_at: Date }[]> {
    return this.dataSource.query(
      `SELECT id, workflow_name, created_at FROM orchestrator_executions
        WHERE tenant_id IS NULL AND parent_execution_id IS NULL AND status IN ('pending', 'running')`,
    );
  }

  /** Per workflow: the newest missed/overlap slot and the newest completed run. */
  async missedSlots(): Promise<
    { workflow_name: string; missed_at: Date; reason: string; last_completed_at: Date | null }[]
  > {
    return this.dataSource.query(
      `SELECT s.workflow_name, s.scheduled_for AS missed_at, s.error_message AS reason,
              (SELECT max(c.completed_at) FROM orchestrator_executions c
                WHERE c.tenant_id IS NULL AND c.parent_execution_id IS NULL
                  AND c.workflow_name = s.workflow_name AND c.status = 'completed') AS last_completed_at
         FROM (SELECT DISTINCT ON (workflow_name) workflow_name, scheduled_for, error_message, created_at
                 FROM orchestrator_executions
                WHERE tenant_id IS NULL AND parent_execution_id IS NULL AND status = 'skipped'
                  AND (error_message LIKE 'missed:%' OR error_message LIKE 'overlap:%')
                ORDER BY workflow_name, created_at DESC) s`,
    );
  }

  /** Scheduled runs of a workflow since `since` that have no deadline verdict yet. */
  async runsAwaitingVerdict(workflowName: string, since: Date) {
    return (await this.dataSource.query(
      `SELECT r.id, r.scheduled_for, r.status FROM orchestrator_executions r
        WHERE r.tenant_id IS NULL AND r.parent_execution_id IS NULL AND r.workflow_name = $1
          AND r.execution_type IN ('scheduled', 'catch_up') AND r.status <> 'skipped'
          AND r.scheduled_for >= $2
          AND NOT EXISTS (SELECT 1 FROM orchestrator_deadline_results d WHERE d.run_id = r.id)
        ORDER BY r.scheduled_for`,
      [workflowName, since],
    )) as { id: string; scheduled_for: Date; status: string }[];
  }

  /**
   * Tenants of a run by claim priority (the tier: 3 enterprise .. 0 free), and how many
   * completed by that tier's deadline (null: no deadline for the tier, not counted).
   */
  async tenantsByTier(runId: string, deadlines: (Date | null)[]) {
    return (await this.dataSource.query(
      `WITH d AS (
         SELECT c.priority, c.status, c.completed_at,
                CASE c.priority WHEN 3 THEN $2::timestamptz WHEN 2 THEN $3::timestamptz
                                WHEN 1 THEN $4::timestamptz ELSE $5::timestamptz END AS deadline
           FROM orchestrator_executions c WHERE c.parent_execution_id = $1
       )
       SELECT priority, count(*)::int AS total,
              count(*) FILTER (WHERE status = 'completed' AND completed_at <= deadline)::int AS on_time
         FROM d WHERE deadline IS NOT NULL GROUP BY priority`,
      [runId, ...deadlines],
    )) as { priority: number; total: number; on_time: number }[];
  }

  /** Records a verdict once per run; false if another instance recorded it first. */
  async recordVerdict(tx: EntityManager, v: DeadlineVerdict): Promise<boolean> {
    const rows = returnedRows(
      await tx.query(
        `INSERT INTO orchestrator_deadline_results
           (run_id, workflow_name, local_date, tenants_total, tenants_on_time, tenants_missed, by_tier, evaluated_at)
         VALUES ($1, $2, $3::date, $4, $5, $6, $7::jsonb, $8)
         ON CONFLICT (run_id) DO NOTHING RETURNING run_id`,
        [
          v.runId,
          v.workflowName,
          v.localDate,
          v.total,
          v.onTime,
          v.missed,
          JSON.stringify(v.byTier),
          v.evaluatedAt,
        ],
      ),
    );
    return rows.length === 1;
  }

  /** The newest verdicts since a date, one per judged run. */
  async recentVerdicts(sinceDate: string, limit: number): Promise<RunVerdict[]> {
    return this.dataSource.query(
      `SELECT run_id, workflow_name, local_date::text AS local_date, tenants_total,
              tenants_on_time, tenants_missed, evaluated_at
         FROM orchestrator_deadline_results WHERE local_date >= $1::date
        ORDER BY local_date DESC, evaluated_at DESC LIMIT $2`,
      [sinceDate, limit],
    );
  }

  /** Deadline verdicts since a date: totals per workflow. */
  async deadlineSummary(sinceDate: string) {
    return (await this.dataSource.query(
      `SELECT workflow_name, count(*)::int AS runs, sum(tenants_total)::int AS tenants,
              sum(tenants_on_time)::int AS on_time, sum(tenants_missed)::int AS missed
         FROM orchestrator_deadline_results WHERE local_date >= $1::date
        GROUP BY workflow_name ORDER BY workflow_name`,
      [sinceDate],
    )) as {
      workflow_name: string;
      runs: number;
      tenants: number;
      on_time: number;
      missed: number;
    }[];
  }
}

/** One run's deadline verdict, as GET /statistics lists it. */
export interface RunVerdict {
  run_id: string;
  workflow_name: string;
  local_date: string;
  tenants_total: number;
  tenants_on_time: number;
  tenants_missed: number;
  evaluated_at: Date;
}

function toAlert(r: Record<string, any>): AlertRow {
  return {
    id: r.id,
    conditionKey: r.condition_key,
    kind: r.kind,
    workflowName: r.workflow_name,
    severity: r.severity,
    message: r.message,
    details: r.details ?? {},
    openedAt: new Date(r.opened_at),
    clearedAt: r.cleared_at ? new Date(r.cleared_at) : null,
    clearedReason: r.cleared_reason,
    eventId: r.event_id,
  };
}
