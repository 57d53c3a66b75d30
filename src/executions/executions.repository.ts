import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, IsNull } from 'typeorm';
import { preparedQuery } from 'src/database/prepared-query';
import { returnedRows } from 'src/common/sql/query-result';
import { Transaction } from 'src/database/transaction';
import { ExecutionLogEntity, LogLevel } from './execution-log.entity';
import { ExecutionStepEntity, StepStatus } from './execution-step.entity';
import { ExecutionEntity, ExecutionStatus, ExecutionType } from './execution.entity';

export interface NewParent {
  /** set when the caller needs the id before the insert (a retry claims its original first) */
  id?: string;
  workflowId: string;
  workflowName: string;
  executionType: ExecutionType;
  triggeredBy: string | null;
  scheduledFor: Date;
  retryOf: string | null;
  leaderTerm: string | null;
  deadlineAt: Date;
  stepsTotal: number;
  status: ExecutionStatus;
  errorMessage?: string | null;
  resultSummary?: Record<string, unknown> | null;
  now: Date;
}

export interface NewChild {
  tenantId: string;
  priority: number;
  /** the tenant's timezone: its business date is the slot's local date there */
  timezone: string | null;
}

export interface StepRow {
  executionId: string;
  stepName: string;
  stepIndex: number;
  status: StepStatus;
  result: unknown;
  /** the result's one-line summary and figures, when the operation gives one */
  summary?: unknown;
  errorMessage: string | null;
  startedAt: Date | null;
  completedAt: Date | null;
}

export interface LogRow {
  executionId: string;
  stepName: string;
  stepIndex: number;
  level: LogLevel;
  message: string;
  data: unknown;
  at: Date;
}

/** A claimed execution; `resumed` when it may have completed steps to skip. */
export type ClaimedExecution = ExecutionEntity & { resumed: boolean };

export interface FinalState {
  id: string;
  owner: string;
  status: ExecutionStatus;
  completedAt: Date | null;
  durationSeconds: number | null;
  stepsCompleted: number;
  stepsFailed: number;
  errorMessage: string | null;
  resultSummary: Record<string, unknown> | null;
  attempt: number;
  nextAttemptAt: Date | null;
  /** when this attempt's steps began (the claim may be earlier: claimed work waits in a buffer) */
  startedAt?: Date | null;
}

export interface ExecutionFilter {
  workflowId?: string;
  workflowName?: string;
  tenantId?: string;
  status?: ExecutionStatus[];
  from?: Date;
  to?: Date;
  parentsOnly?: boolean;
  /** leave out failures that a later attempt at the same slot fixed (GET /executions/failed) */
  stillFailed?: boolean;
  cursor?: { createdAt: Date; id: string };
  limit: number;
}

/** No attempt at the same (workflow, slot, tenant) completed. */
const TENANT_NOT_RECOVERED = (alias: string) => `NOT EXISTS (
  SELECT 1 FROM orchestrator_executions x
   WHERE x.workflow_id = ${alias}.workflow_id AND x.scheduled_for = ${alias}.scheduled_for
     AND x.tenant_id = ${alias}.tenant_id AND x.status = 'completed')`;

/**
 * A failure nobody fixed yet: a tenant execution with no completed attempt at its slot, or
 * a run with such a tenant (or that failed as a whole, before any tenant ran).
 */
const STILL_FAILED = `(
  (e.tenant_id IS NOT NULL AND ${TENANT_NOT_RECOVERED('e')})
  OR (e.tenant_id IS NULL AND (
    NOT EXISTS (SELECT 1 FROM orchestrator_executions c
                 WHERE c.parent_execution_id = e.id AND c.status IN ('failed', 'cancelled'))
    OR EXISTS (SELECT 1 FROM orchestrator_executions c
                WHERE c.parent_execution_id = e.id AND c.status IN ('failed', 'cancelled')
                  AND ${TENANT_NOT_RECOVERED('c')}))))`;

/** A manual run looks this far past its request instant for a free slot. */
const MAX_SLOT_SHIFT_MS = 1000;

const COLUMNS = `id, workflow_id, workflow_name, execution_type, triggered_by, tenant_id, status, started_at,
  completed_at, duration_seconds, steps_completed, steps_total, steps_failed, error_message, result_summary,
  executed_by_instance, created_at, parent_execution_id, scheduled_for, retry_of_execution_id, attempt,
  next_attempt_at, lease_owner, lease_expires_at, leader_term, priority, updated_at, deadline_at, tenant_timezone`;

/**
 * `mine`: the rows of ids $2 this instance ($1) still runs, locked in id order. Renewals and
 * the hand-back lock through it, and the group commit's final states lock in the same order
 * (writeState): two statements that lock the same rows in different orders can deadlock.
 * Materialised and read in that order by whatever join the planner picks.
 */
const OWN_RUNNING_IN_ID_ORDER = `mine AS MATERIALIZED (
         SELECT id FROM orchestrator_executions
          WHERE id = ANY($2::uuid[]) AND lease_owner = $1 AND status = 'running'
          ORDER BY id
          FOR NO KEY UPDATE
       )`;

/** Only this class reads or writes executions, their steps and their logs. */
@Injectable()
export class ExecutionsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(fn);
  }

  /** Inserts the parent unless its slot already has one; returns its id and whether it is new. */
  async insertParent(tx: Transaction, p: NewParent): Promise<{ id: string; created: boolean }> {
    const id = await this.tryInsertParent(tx, p);
    if (id) return { id, created: true };
    const existing = await tx.query(
      `SELECT id FROM orchestrator_executions
        WHERE workflow_id = $1 AND scheduled_for = $2 AND tenant_id IS NULL AND retry_of_execution_id IS NULL`,
      [p.workflowId, p.scheduledFor],
    );
    return { id: existing[0].id, created: false };
  }

  /**
   * A manual run: its own slot, the first free millisecond from `p.scheduledFor` on, so two
   * runs requested in the same millisecond are two runs (with their own downstream
   * idempotency keys), never one folded into the other. Returns the slot it took.
   */
  async insertParentAtFreeSlot(
    tx: Transaction,
    p: NewParent,
  ): Promise<{ id: string; scheduledFor: Date }> {
    for (let shift = 0; shift < MAX_SLOT_SHIFT_MS; shift++) {
      const scheduledFor = new Date(p.scheduledFor.getTime() + shift);
      const id = await this.tryInsertParent(tx, { ...p, scheduledFor });
      if (id) return { id, scheduledFor };
    }
    throw new Error(
      `no free slot within ${MAX_SLOT_SHIFT_MS} ms of ${p.scheduledFor.toISOString()} for ${p.workflowName}`,
    );
  }

  private async tryInsertParent(tx: Transaction, p: NewParent): Promise<string | null> {
    const rows = await tx.query(
      `INSERT INTO orchestrator_executions
         (id, workflow_id, workflow_name, execution_type, triggered_by, tenant_id, status, started_at,
          steps_total, scheduled_for, retry_of_execution_id, leader_term, deadline_at, error_message,
          result_summary, completed_at, created_at, updated_at)
       VALUES (COALESCE($14::uuid, gen_random_uuid()), $1, $2, $3, $4, NULL, $5::varchar, $6, $7, $8, $9,
               $10, $11, $12, $13,
               CASE WHEN $5::varchar IN ('skipped', 'completed', 'failed', 'cancelled') THEN $6::timestamptz END, $6, $6)
       ON CONFLICT DO NOTHING
       RETURNING id`,
      [
        p.workflowId,
        p.workflowName,
        p.executionType,
        p.triggeredBy,
        p.status,
        p.now,
        p.stepsTotal,
        p.scheduledFor,
        p.retryOf,
        p.leaderTerm,
        p.deadlineAt,
        p.errorMessage ?? null,
        p.resultSummary ? JSON.stringify(p.resultSummary) : null,
        p.id ?? null,
      ],
    );
    return rows.length === 1 ? rows[0].id : null;
  }

  /** A finished run of a job outside the engine: no tenants, no steps, no workflow row. */
  async insertStandalone(run: {
    workflowName: string;
    executionType: ExecutionType;
    startedAt: Date;
    completedAt: Date;
    status: ExecutionStatus;
    resultSummary: Record<string, unknown>;
    errorMessage: string | null;
    instanceId: string;
  }): Promise<string> {
    const [row] = await this.dataSource.query(
      `INSERT INTO orchestrator_executions
         (workflow_id, workflow_name, execution_type, tenant_id, status, started_at, completed_at,
          duration_seconds, result_summary, error_message, executed_by_instance, scheduled_for, created_at, updated_at)
       VALUES (NULL, $1, $2, NULL, $3, $4, $5, $6, $7, $8, $9, $4, $4, $5)
       RETURNING id`,
      [
        run.workflowName,
        run.executionType,
        run.status,
        run.startedAt,
        run.completedAt,
        Math.max(0, Math.round((run.completedAt.getTime() - run.startedAt.getTime()) / 1000)),
        JSON.stringify(run.resultSummary),
        run.errorMessage,
        run.instanceId,
      ],
    );
    return row.id;
  }

  /**
   * One statement for any number of tenants; the slot key makes a repeat a no-op. Returns
   * the rows inserted only when asked (`returning`: to copy a resumed tenant's steps): for a
   * run of 50,000 tenants they were 50,000 objects nobody read, at the run's memory peak.
   */
  async insertChildren(
    tx: Transaction,
    parentId: string,
    p: NewParent,
    children: NewChild[],
    returning = true,
  ): Promise<{ id: string; tenant_id: string }[]> {
    if (children.length === 0) return [];
    const rows = await tx.query(
      `INSERT INTO orchestrator_executions
         (workflow_id, workflow_name, execution_type, triggered_by, tenant_id, status, steps_total,
          parent_execution_id, scheduled_for, retry_of_execution_id, leader_term, deadline_at, priority,
          tenant_timezone, created_at, updated_at)
       SELECT $1, $2, $3, $4, t.tenant_id, 'pending', $5, $6, $7, $8, $9, $10, t.priority, t.zone, $11, $11
         FROM unnest($12::uuid[], $13::int[], $14::varchar[]) AS t(tenant_id, priority, zone)
       ON CONFLICT DO NOTHING
       ${returning ? 'RETURNING id, tenant_id' : ''}`,
      [
        p.workflowId,
        p.workflowName,
        p.executionType,
        p.triggeredBy,
        p.stepsTotal,
        parentId,
        p.scheduledFor,
        p.retryOf,
        p.leaderTerm,
        p.deadlineAt,
        p.now,
        children.map((c) => c.tenantId),
        children.map((c) => c.priority),
        children.map((c) => c.timezone),
      ],
    );
    return returning ? rows : [];
  }

  /**
   * The tenants of a new run after its first batch, in claim order, written in the run's
   * transaction so the run is whole when it commits; `expandStaged` turns them into tenant
   * executions a batch at a time. Their rows will carry `createdAt`, the first batch's.
   */
  async stageChildren(
    tx: Transaction,
    parentId: string,
    stepsTotal: number,
    createdAt: Date,
    children: NewChild[],
  ): Promise<void> {
    await tx.query(
      `INSERT INTO orchestrator_run_staging
         (execution_id, tenant_ids, priorities, timezones, steps_total, next_index, created_at)
       VALUES ($1, $2::uuid[], $3::int[], $4::varchar[], $5, 0, $6)`,
      [
        parentId,
        children.map((c) => c.tenantId),
        children.map((c) => c.priority),
        children.map((c) => c.timezone),
        stepsTotal,
        createdAt,
      ],
    );
  }

  /**
   * Inserts the next `batch` staged tenants of the oldest staged run no other transaction
   * holds, as pending tenant executions like the first batch's, and moves its cursor; the
   * staging row goes with the last batch (or at once if the run was closed meanwhile).
   * Null when no staged run is free. The slot key makes a repeated batch a no-op.
   */
  async expandStaged(
    tx: Transaction,
    batch: number,
  ): Promise<{ parentId: string; inserted: number; left: number } | null> {
    const [row]: { execution_id: string; next_index: number; total: number; open: boolean }[] =
      await tx.query(
        `SELECT s.execution_id, s.next_index, cardinality(s.tenant_ids) AS total,
                p.status IN ('pending', 'running') AS open
           FROM orchestrator_run_staging s
           JOIN orchestrator_executions p ON p.id = s.execution_id
          ORDER BY s.created_at, s.execution_id
          LIMIT 1
          FOR UPDATE OF s SKIP LOCKED`,
      );
    if (!row) return null;
    const parentId = row.execution_id;
    const next = Math.min(row.total, row.next_index + batch);
    if (row.open) {
      await tx.query(
        `INSERT INTO orchestrator_executions
           (workflow_id, workflow_name, execution_type, triggered_by, tenant_id, status, steps_total,
            parent_execution_id, scheduled_for, retry_of_execution_id, leader_term, deadline_at, priority,
            tenant_timezone, created_at, updated_at)
         SELECT p.workflow_id, p.workflow_name, p.execution_type, p.triggered_by, t.tenant_id, 'pending',
                s.steps_total, p.id, p.scheduled_for, p.retry_of_execution_id, p.leader_term, p.deadline_at,
                t.priority, t.zone, s.created_at, s.created_at
           FROM orchestrator_run_staging s
           JOIN orchestrator_executions p ON p.id = s.execution_id
           CROSS JOIN LATERAL unnest(s.tenant_ids[$2::int + 1 : $3::int], s.priorities[$2::int + 1 : $3::int],
                                     s.timezones[$2::int + 1 : $3::int]) AS t(tenant_id, priority, zone)
          WHERE s.execution_id = $1
         ON CONFLICT DO NOTHING`,
        [parentId, row.next_index, next],
      );
    }
    if (!row.open || next >= row.total) {
      await tx.query(`DELETE FROM orchestrator_run_staging WHERE execution_id = $1`, [parentId]);
    } else {
      await tx.query(
        `UPDATE orchestrator_run_staging SET next_index = $2 WHERE execution_id = $1`,
        [parentId, next],
      );
    }
    return {
      parentId,
      inserted: row.open ? next - row.next_index : 0,
      left: row.open ? row.total - next : 0,
    };
  }

  /**
   * Fresh planner statistics for the executions table, once a run inserted many tenants:
   * with statistics from before (few or no pending rows), the claim query read and sorted
   * every pending row at each claim (5 ms a claim at 10,000 pending, more as runs grow)
   * instead of reading its index in order (0.4 ms). Waits at most a second for the table's
   * lock (a VACUUM holds it), then leaves the statistics to autovacuum.
   */
  async refreshStatistics(): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      await tx.query(`SET LOCAL lock_timeout = '1s'`);
      await tx.query(`ANALYZE orchestrator_executions`);
    });
  }

  /** Whether any run has tenants still to insert (the dispatcher's sweep asks, cheaply). */
  async hasStaged(): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `SELECT 1 FROM orchestrator_run_staging LIMIT 1`,
    );
    return rows.length > 0;
  }

  async copyCompletedSteps(tx: Transaction, pairs: { from: string; to: string }[]): Promise<void> {
    if (pairs.length === 0) return;
    await tx.query(
      `INSERT INTO orchestrator_execution_steps
         (execution_id, step_name, step_index, status, attempts, result, result_summary, started_at, completed_at)
       SELECT m.to_id, s.step_name, s.step_index, s.status, s.attempts, s.result, s.result_summary,
              s.started_at, s.completed_at
         FROM unnest($1::uuid[], $2::uuid[]) AS m(from_id, to_id)
         JOIN orchestrator_execution_steps s ON s.execution_id = m.from_id AND s.status = 'completed'`,
      [pairs.map((p) => p.from), pairs.map((p) => p.to)],
    );
  }

  /**
   * Claims runnable tenant work for one instance: pending work that is due, and running
   * work whose lease expired (its instance died). SKIP LOCKED lets many claimers share
   * the queue without waiting on each other; the lease is on the database clock.
   */
  async claim(owner: string, limit: number, leaseMs: number): Promise<ClaimedExecution[]> {
    const rows = await preparedQuery(
      this.dataSource,
      'orchestrator_claim',
      // two access paths (migration ClaimIndexes): expired leases first (their instance
      // died; they resume), then pending work in tier order; each stops after $2 rows.
      // `= ANY(ARRAY(...))` keeps the update on the primary key: joining the CTEs made
      // the prepared (generic) plan hash-join against the whole table
      `WITH expired AS (
         SELECT id FROM orchestrator_executions
          WHERE status = 'running' AND tenant_id IS NOT NULL AND lease_expires_at < now()
          ORDER BY lease_expires_at
          LIMIT $2
          FOR UPDATE SKIP LOCKED
       ), fresh AS (
         SELECT id FROM orchestrator_executions
          WHERE status = 'pending' AND tenant_id IS NOT NULL
            AND (next_attempt_at IS NULL OR next_attempt_at <= now())
          ORDER BY priority DESC, created_at, tenant_id
          LIMIT $2 - (SELECT count(*) FROM expired)
          FOR UPDATE SKIP LOCKED
       )
       UPDATE orchestrator_executions e
          SET status = 'running', lease_owner = $1, lease_expires_at = now() + make_interval(secs => $3::float8 / 1000),
              started_at = COALESCE(e.started_at, now()), executed_by_instance = $1, updated_at = now()
         WHERE e.id = ANY(ARRAY(SELECT id FROM expired UNION ALL SELECT id FROM fresh))
       -- resumed: started before (handed back, a later attempt) or a retry with copied
       -- steps; only then can it have completed steps to skip
       RETURNING ${COLUMNS.split(',')
         .map((c) => `e.${c.trim()}`)
         .join(
           ', ',
         )}, (e.attempt > 1 OR e.started_at < now() OR e.retry_of_execution_id IS NOT NULL) AS resumed`,
      [owner, limit, leaseMs],
    );
    return rows.map((r) => Object.assign(toEntity(r), { resumed: r.resumed === true }));
  }

  /** Extends the leases this instance still holds; returns the ids it still owns. */
  async renewLeases(owner: string, ids: string[], leaseMs: number): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.dataSource.query(
      `WITH ${OWN_RUNNING_IN_ID_ORDER}
       UPDATE orchestrator_executions e
          SET lease_expires_at = now() + make_interval(secs => $3::float8 / 1000)
         FROM mine
        WHERE e.id = mine.id
        RETURNING e.id`,
      [owner, ids, leaseMs],
    );
    return new Set(returnedRows<{ id: string }>(rows).map((r) => r.id));
  }

  /** Hands work back (shutdown): another instance claims it at once instead of after the lease. */
  async release(owner: string, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.dataSource.query(
      `WITH ${OWN_RUNNING_IN_ID_ORDER}
       UPDATE orchestrator_executions e
          SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL
         FROM mine
        WHERE e.id = mine.id`,
      [owner, ids],
    );
  }

  async completedSteps(executionIds: string[]): Promise<Map<string, Map<string, unknown>>> {
    const out = new Map<string, Map<string, unknown>>();
    if (executionIds.length === 0) return out;
    const rows: { execution_id: string; step_name: string; result: unknown }[] =
      await this.dataSource.query(
        `SELECT execution_id, step_name, result FROM orchestrator_execution_steps
        WHERE execution_id = ANY($1::uuid[]) AND status = 'completed'`,
        [executionIds],
      );
    for (const r of rows) {
      if (!out.has(r.execution_id)) out.set(r.execution_id, new Map());
      out.get(r.execution_id)!.set(r.step_name, r.result);
    }
    return out;
  }

  /**
   * Step outcomes, log lines and final states of many executions in ONE statement (one
   * round trip, one commit): the group commit's unit of work. Final states apply only
   * where this instance still holds the lease; the ids applied are returned.
   */
  async writeState(steps: StepRow[], logs: LogRow[], finals: FinalState[]): Promise<Set<string>> {
    // three JSON documents rather than 26 arrays: one JSON.stringify each instead of the
    // driver escaping every element into an array literal, which cost more CPU than the
    // HTTP calls themselves at thousands of steps a second
    const result = await preparedQuery<{ id: string }>(
      this.dataSource,
      'orchestrator_write_state',
      `WITH s AS (
         INSERT INTO orchestrator_execution_steps
           (execution_id, step_name, step_index, status, attempts, result, result_summary,
            error_message, started_at, completed_at)
         SELECT x.e, x.n, x.i, x.st, 1, x.r, x.su, x.er, x.sa, x.ca
           FROM jsonb_to_recordset($1::jsonb)
             AS x(e uuid, n varchar, i int, st varchar, r jsonb, su jsonb, er text, sa timestamptz,
                  ca timestamptz)
         ON CONFLICT (execution_id, step_name) DO UPDATE
            SET status = EXCLUDED.status, attempts = orchestrator_execution_steps.attempts + 1,
                result = EXCLUDED.result, result_summary = EXCLUDED.result_summary,
                error_message = EXCLUDED.error_message,
                started_at = EXCLUDED.started_at, completed_at = EXCLUDED.completed_at
         RETURNING 1
       ), l AS (
         INSERT INTO orchestrator_execution_logs
           (execution_id, step_name, step_index, log_level, log_message, log_data, logged_at)
         SELECT x.e, x.n, x.i, x.lv, x.m, x.d, x.at
           FROM jsonb_to_recordset($2::jsonb)
             AS x(e uuid, n varchar, i int, lv varchar, m text, d jsonb, at timestamptz)
         RETURNING 1
       ), locked AS MATERIALIZED (
         -- the final states' rows locked in id order, as lease renewals lock theirs: read
         -- lazily in this order by whatever join the planner picks, so no lock is taken
         -- out of order and the two cannot deadlock
         SELECT e.id FROM orchestrator_executions e
          WHERE e.id = ANY(ARRAY(SELECT (x->>'id')::uuid FROM jsonb_array_elements($3::jsonb) x))
          ORDER BY e.id
          FOR NO KEY UPDATE
       ), f AS (
         UPDATE orchestrator_executions e
            SET status = f.st, completed_at = f.ca, duration_seconds = f.ds,
                steps_completed = f.sc, steps_failed = f.sf, error_message = f.er,
                result_summary = f.rs, attempt = f.a, next_attempt_at = f.na,
                started_at = COALESCE(f.sa, e.started_at),
                lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
           FROM jsonb_to_recordset($3::jsonb)
             AS f(id uuid, o varchar, st varchar, ca timestamptz, ds int, sc int, sf int, er text, rs jsonb,
                  a int, na timestamptz, sa timestamptz)
          WHERE e.id = f.id AND e.lease_owner = f.o AND e.status = 'running'
            AND e.id IN (SELECT id FROM locked)
          RETURNING e.id
       )
       SELECT id FROM f`,
      [
        JSON.stringify(
          steps.map((r) => ({
            e: r.executionId,
            n: r.stepName,
            i: r.stepIndex,
            st: r.status,
            r: r.result ?? null,
            su: r.summary ?? null,
            er: r.errorMessage,
            sa: iso(r.startedAt),
            ca: iso(r.completedAt),
          })),
        ),
        JSON.stringify(
          logs.map((r) => ({
            e: r.executionId,
            n: r.stepName,
            i: r.stepIndex,
            lv: r.level,
            m: r.message,
            d: r.data ?? null,
            at: iso(r.at),
          })),
        ),
        JSON.stringify(
          finals.map((r) => ({
            id: r.id,
            o: r.owner,
            st: r.status,
            ca: iso(r.completedAt),
            ds: r.durationSeconds,
            sc: r.stepsCompleted,
            sf: r.stepsFailed,
            er: r.errorMessage,
            rs: r.resultSummary,
            a: r.attempt,
            na: iso(r.nextAttemptAt),
            sa: iso(r.startedAt),
          })),
        ),
      ],
    );
    return new Set(result.map((r) => r.id));
  }

  /** Cancels pending tenant work whose run passed its deadline; returns the parents touched. */
  async cancelOverdue(now: Date): Promise<string[]> {
    const rows = await this.dataSource.query(
      `UPDATE orchestrator_executions
          SET status = 'cancelled', completed_at = $1, updated_at = $1,
              error_message = 'cancelled: the run exceeded its max_execution_time_seconds before this tenant finished'
        WHERE status = 'pending' AND tenant_id IS NOT NULL AND deadline_at < $1
        RETURNING parent_execution_id`,
      [now],
    );
    return [
      ...new Set(
        returnedRows<{ parent_execution_id: string }>(rows).map((r) => r.parent_execution_id),
      ),
    ];
  }

  /** Parents still open whose tenants are all done, locked for completion by this transaction. */
  async lockFinishedParents(
    tx: Transaction,
    parentIds: string[] | null,
  ): Promise<ExecutionEntity[]> {
    const rows = await tx.query(
      `SELECT ${COLUMNS} FROM orchestrator_executions p
        WHERE p.tenant_id IS NULL AND p.status IN ('pending', 'running')
          AND ($1::uuid[] IS NULL OR p.id = ANY($1::uuid[]))
          AND NOT EXISTS (SELECT 1 FROM orchestrator_executions c
                           WHERE c.parent_execution_id = p.id AND c.status IN ('pending', 'running'))
          AND NOT EXISTS (SELECT 1 FROM orchestrator_run_staging s WHERE s.execution_id = p.id)
        FOR UPDATE SKIP LOCKED`,
      [parentIds],
    );
    return rows.map(toEntity);
  }

  async childTotals(tx: Transaction, parentId: string) {
    const [row] = await tx.query(
      `SELECT count(*)::int AS tenants,
              count(*) FILTER (WHERE status = 'completed')::int AS succeeded,
              count(*) FILTER (WHERE status = 'failed')::int AS failed,
              count(*) FILTER (WHERE status = 'cancelled')::int AS cancelled,
              COALESCE(sum(steps_completed), 0)::int AS steps_completed,
              COALESCE(sum(steps_failed), 0)::int AS steps_failed,
              COALESCE(sum(attempt - 1), 0)::int AS retries,
              max(completed_at) AS last_completed_at,
              (array_agg(error_message ORDER BY completed_at DESC) FILTER (WHERE status IN ('failed', 'cancelled')))[1] AS last_error
         FROM orchestrator_executions WHERE parent_execution_id = $1`,
      [parentId],
    );
    return row as {
      tenants: number;
      succeeded: number;
      failed: number;
      cancelled: number;
      steps_completed: number;
      steps_failed: number;
      retries: number;
      last_completed_at: Date | null;
      last_error: string | null;
    };
  }

  async closeParent(
    tx: Transaction,
    id: string,
    s: {
      status: ExecutionStatus;
      completedAt: Date;
      durationSeconds: number;
      stepsCompleted: number;
      stepsFailed: number;
      errorMessage: string | null;
      resultSummary: Record<string, unknown>;
    },
  ): Promise<boolean> {
    const rows = await tx.query(
      `UPDATE orchestrator_executions
          SET status = $2, completed_at = $3, duration_seconds = $4, steps_completed = $5, steps_failed = $6,
              error_message = $7, result_summary = $8, updated_at = $3
        WHERE id = $1 AND status IN ('pending', 'running')
        RETURNING id`,
      [
        id,
        s.status,
        s.completedAt,
        s.durationSeconds,
        s.stepsCompleted,
        s.stepsFailed,
        s.errorMessage,
        JSON.stringify(s.resultSummary),
      ],
    );
    return returnedRows(rows).length === 1;
  }

  async findById(id: string): Promise<ExecutionEntity | null> {
    return this.dataSource.getRepository(ExecutionEntity).findOneBy({ id });
  }

  async children(
    parentId: string,
    limit?: number,
    statuses?: ExecutionStatus[],
  ): Promise<ExecutionEntity[]> {
    const qb = this.dataSource
      .getRepository(ExecutionEntity)
      .createQueryBuilder('e')
      .where('e.parent_execution_id = :parentId', { parentId });
    if (statuses?.length) qb.andWhere('e.status IN (:...statuses)', { statuses });
    qb.orderBy('e.priority', 'DESC').addOrderBy('e.tenant_id', 'ASC');
    if (limit) qb.limit(limit);
    return qb.getMany();
  }

  /**
   * Serialises backfills of one slot (a transaction-scoped advisory lock), then reports
   * what the slot's runs have done: a run still open, the tenants already completed, and
   * each tenant's latest execution (to resume from its completed steps).
   */
  async lockSlot(tx: Transaction, workflowId: string, scheduledFor: Date) {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [
      `${workflowId}|${scheduledFor.toISOString()}`,
    ]);
    const open: { id: string }[] = await tx.query(
      `SELECT id FROM orchestrator_executions
        WHERE workflow_id = $1 AND scheduled_for = $2 AND tenant_id IS NULL AND status IN ('pending', 'running')
        LIMIT 1`,
      [workflowId, scheduledFor],
    );
    const children: { id: string; tenant_id: string; status: string }[] = await tx.query(
      `SELECT DISTINCT ON (tenant_id) id, tenant_id, status FROM orchestrator_executions
        WHERE workflow_id = $1 AND scheduled_for = $2 AND tenant_id IS NOT NULL
        ORDER BY tenant_id, (status = 'completed') DESC, created_at DESC`,
      [workflowId, scheduledFor],
    );
    return {
      inProgress: open[0]?.id ?? null,
      completedTenants: new Set(
        children.filter((c) => c.status === 'completed').map((c) => c.tenant_id),
      ),
      latestChildByTenant: new Map(children.map((c) => [c.tenant_id, c.id])),
    };
  }

  /**
   * Serialises manual runs of one workflow (a transaction-scoped advisory lock), then
   * returns a run of it still open, if any. The check and the caller's insert commit
   * together, so two requests can never both see "none open".
   */
  async lockRunsOf(tx: Transaction, workflowId: string): Promise<string | null> {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`runs|${workflowId}`]);
    const open: { id: string }[] = await tx.query(
      `SELECT id FROM orchestrator_executions
        WHERE workflow_id = $1 AND tenant_id IS NULL AND status IN ('pending', 'running')
        ORDER BY created_at LIMIT 1`,
      [workflowId],
    );
    return open[0]?.id ?? null;
  }

  /**
   * Compare-and-set of a run's retry claim: `active_retry_id` from `seen` to `retryId`.
   * A concurrent claim waits on the row and then finds another value, so of two retries
   * one claims and the other learns which retry holds it (`current`).
   */
  async claimRetry(
    tx: Transaction,
    runId: string,
    seen: string | null,
    retryId: string,
  ): Promise<{ claimed: boolean; current: string | null }> {
    const rows = await tx.query(
      `UPDATE orchestrator_executions SET active_retry_id = $3
        WHERE id = $1 AND active_retry_id IS NOT DISTINCT FROM $2::uuid
        RETURNING id`,
      [runId, seen, retryId],
    );
    if (returnedRows(rows).length === 1) return { claimed: true, current: retryId };
    const [row] = await tx.query(
      `SELECT active_retry_id FROM orchestrator_executions WHERE id = $1`,
      [runId],
    );
    return { claimed: false, current: row?.active_retry_id ?? null };
  }

  /** Runs linked to a run (its retries and backfills), oldest first. */
  async linkedRuns(runId: string): Promise<ExecutionEntity[]> {
    return this.dataSource.getRepository(ExecutionEntity).find({
      where: { retryOfExecutionId: runId, tenantId: IsNull() },
      order: { createdAt: 'ASC' },
    });
  }

  /**
   * The completed attempt of each tenant of a slot (the first to complete), for
   * "who recovered it": a failed tenant execution is recovered once one exists.
   */
  async completedAttempts(
    workflowId: string,
    scheduledFor: Date,
    tenantIds: string[],
  ): Promise<{ id: string; tenantId: string; parentId: string; completedAt: Date }[]> {
    if (tenantIds.length === 0) return [];
    const rows: Record<string, any>[] = await this.dataSource.query(
      `SELECT DISTINCT ON (tenant_id) id, tenant_id, parent_execution_id, completed_at
         FROM orchestrator_executions
        WHERE workflow_id = $1 AND scheduled_for = $2 AND tenant_id = ANY($3::uuid[])
          AND status = 'completed'
        ORDER BY tenant_id, completed_at`,
      [workflowId, scheduledFor, tenantIds],
    );
    return rows.map((r) => ({
      id: r.id,
      tenantId: r.tenant_id,
      parentId: r.parent_execution_id,
      completedAt: r.completed_at,
    }));
  }

  /** Later attempts at the same (workflow, slot, tenant), oldest first. */
  async laterAttempts(e: ExecutionEntity): Promise<ExecutionEntity[]> {
    return (
      this.dataSource
        .getRepository(ExecutionEntity)
        .createQueryBuilder('x')
        .where('x.workflow_id = :wf AND x.scheduled_for = :slot AND x.tenant_id = :tenant', {
          wf: e.workflowId,
          slot: e.scheduledFor,
          tenant: e.tenantId,
        })
        // ">=": attempts created in one clock tick (a retry sent at once) are still later ones
        .andWhere('x.created_at >= :at AND x.id <> :id', { at: e.createdAt, id: e.id })
        .orderBy('x.created_at', 'ASC')
        .getMany()
    );
  }

  async existingParent(
    workflowId: string,
    scheduledFor: Date,
    tx?: Transaction,
  ): Promise<ExecutionEntity | null> {
    return (tx ?? this.dataSource.manager).getRepository(ExecutionEntity).findOne({
      where: { workflowId, scheduledFor, tenantId: IsNull(), retryOfExecutionId: IsNull() },
    });
  }

  async stepsOf(executionIds: string[]): Promise<ExecutionStepEntity[]> {
    if (executionIds.length === 0) return [];
    return this.dataSource
      .getRepository(ExecutionStepEntity)
      .createQueryBuilder('s')
      .where('s.execution_id = ANY(:ids)', { ids: executionIds })
      .orderBy('s.step_index')
      .getMany();
  }

  /**
   * The newest unfinished run of a workflow: when it started, and whether one of its
   * tenants' leases has lapsed (its runner stopped renewing: an instance died or lost the
   * database) without another instance having taken it over yet.
   */
  async runInProgress(
    workflowId: string,
  ): Promise<{ executionId: string; startedAt: Date; leaseLapsed: boolean } | null> {
    const rows: { id: string; started_at: Date; lease_lapsed: boolean }[] =
      await this.dataSource.query(
        `SELECT p.id, COALESCE(p.started_at, p.created_at) AS started_at,
                EXISTS (SELECT 1 FROM orchestrator_executions c
                         WHERE c.parent_execution_id = p.id AND c.status = 'running'
                           AND c.lease_expires_at < now()) AS lease_lapsed
           FROM orchestrator_executions p
          WHERE p.workflow_id = $1 AND p.tenant_id IS NULL AND p.status IN ('pending', 'running')
          ORDER BY p.created_at DESC LIMIT 1`,
        [workflowId],
      );
    const row = rows[0];
    return row
      ? {
          executionId: row.id,
          startedAt: new Date(row.started_at),
          leaseLapsed: row.lease_lapsed === true,
        }
      : null;
  }

  async search(f: ExecutionFilter): Promise<ExecutionEntity[]> {
    const qb = this.dataSource.getRepository(ExecutionEntity).createQueryBuilder('e');
    if (f.workflowId) qb.andWhere('e.workflow_id = :wf', { wf: f.workflowId });
    if (f.workflowName) qb.andWhere('e.workflow_name = :wfName', { wfName: f.workflowName });
    if (f.tenantId) qb.andWhere('e.tenant_id = :tenant', { tenant: f.tenantId });
    if (f.status?.length) qb.andWhere('e.status IN (:...status)', { status: f.status });
    if (f.from) qb.andWhere('e.created_at >= :from', { from: f.from });
    if (f.to) qb.andWhere('e.created_at < :to', { to: f.to });
    if (f.parentsOnly) qb.andWhere('e.tenant_id IS NULL');
    if (f.stillFailed) qb.andWhere(STILL_FAILED);
    if (f.cursor) {
      qb.andWhere('(e.created_at, e.id) < (:cAt, :cId)', {
        cAt: f.cursor.createdAt,
        cId: f.cursor.id,
      });
    }
    return qb.orderBy('e.created_at', 'DESC').addOrderBy('e.id', 'DESC').limit(f.limit).getMany();
  }

  /** Logs of an execution, or of all its tenant executions when it is a run's parent. */
  async logs(
    executionId: string,
    after: { at: Date; id: string } | null,
    limit: number,
  ): Promise<ExecutionLogEntity[]> {
    const qb = this.dataSource
      .getRepository(ExecutionLogEntity)
      .createQueryBuilder('l')
      .where(
        '(l.execution_id = :id OR l.execution_id IN (SELECT c.id FROM orchestrator_executions c WHERE c.parent_execution_id = :id))',
        { id: executionId },
      );
    if (after) qb.andWhere('(l.logged_at, l.id) > (:at, :id)', { at: after.at, id: after.id });
    return qb.orderBy('l.logged_at', 'ASC').addOrderBy('l.id', 'ASC').limit(limit).getMany();
  }

  async statusCounts(parentId: string): Promise<Record<string, number>> {
    // tenants of a run still being inserted (orchestrator_run_staging) count as pending
    const rows: { status: string; n: number }[] = await this.dataSource.query(
      `SELECT status, count(*)::int AS n FROM orchestrator_executions WHERE parent_execution_id = $1 GROUP BY status
       UNION ALL
       SELECT 'pending', cardinality(tenant_ids) - next_index FROM orchestrator_run_staging WHERE execution_id = $1`,
      [parentId],
    );
    const counts: Record<string, number> = {};
    for (const r of rows) if (r.n > 0) counts[r.status] = (counts[r.status] ?? 0) + r.n;
    return counts;
  }
}

function toEntity(r: Record<string, any>): ExecutionEntity {
  const e = new ExecutionEntity();
  Object.assign(e, {
    id: r.id,
    workflowId: r.workflow_id,
    workflowName: r.workflow_name,
    executionType: r.execution_type,
    triggeredBy: r.triggered_by,
    tenantId: r.tenant_id,
    status: r.status,
    startedAt: r.started_at,
    completedAt: r.completed_at,
    durationSeconds: r.duration_seconds,
    stepsCompleted: r.steps_completed,
    stepsTotal: r.steps_total,
    stepsFailed: r.steps_failed,
    errorMessage: r.error_message,
    resultSummary: r.result_summary,
    executedByInstance: r.executed_by_instance,
    createdAt: r.created_at,
    parentExecutionId: r.parent_execution_id,
    scheduledFor: r.scheduled_for,
    retryOfExecutionId: r.retry_of_execution_id,
    attempt: r.attempt,
    nextAttemptAt: r.next_attempt_at,
    leaseOwner: r.lease_owner,
    leaseExpiresAt: r.lease_expires_at,
    leaderTerm: r.leader_term,
    priority: r.priority,
    updatedAt: r.updated_at,
    deadlineAt: r.deadline_at,
    activeRetryId: r.active_retry_id ?? null,
    tenantTimezone: r.tenant_timezone ?? null,
  });
  return e;
}

/**
 * A timestamp for the group commit's JSON, as JSON.stringify writes a Date (null when
 * invalid). Converted before: a Date inside JSON.stringify goes through its toJSON, about
 * twice the cost of this call, three times a step.
 */
function iso(d: Date | null | undefined): string | null {
  if (!d) return null;
  const t = d.getTime();
  return Number.isNaN(t) ? null : d.toISOString();
}
