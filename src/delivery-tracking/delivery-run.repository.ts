import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

export const DELIVERY_TRACKING_JOB = 'delivery_tracking';

export type DeliveryRunTrigger = 'cron' | 'cli' | 'manual';
export type DeliveryRunFinalStatus = 'completed' | 'failed';

export interface ActiveDeliveryRun {
  id: string;
  holder: string;
  trigger: DeliveryRunTrigger;
  startedAt: Date;
  leaseExpiresAt: Date;
}

export type StartRunOutcome =
  { started: true; runId: string } | { started: false; active: ActiveDeliveryRun | null };

/** A run about to start: what tryStart records in its row. */
export interface DeliveryRunStart {
  trigger: DeliveryRunTrigger;
  holder: string;
  startedAt: Date;
  leaseExpiresAt: Date;
}

/** How a started run ended: what finish records in its row. */
export interface DeliveryRunFinish {
  status: DeliveryRunFinalStatus;
  finishedAt: Date;
  summary: Record<string, unknown> | null;
  errorMessage: string | null;
}

export interface DeliveryRunRecord {
  id: string;
  status: string;
  trigger: DeliveryRunTrigger;
  holder: string;
  startedAt: Date;
  finishedAt: Date | null;
  summary: Record<string, unknown> | null;
  errorMessage: string | null;
}

/**
 * orchestrator_delivery_runs. At most one row per job is 'running' (a partial unique
 * index), which is the cross-pod lock behind concurrencyPolicy: Forbid. A row lease
 * rather than pg_advisory_lock: an advisory lock lives on one held connection, and the
 * embedded database has exactly one, which the run itself needs. The lease covers the
 * run's whole deadline, so it needs no renewal; a process that dies leaves a row that
 * stops blocking when its lease expires.
 */
@Injectable()
export class DeliveryRunRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async tryStart(run: DeliveryRunStart): Promise<StartRunOutcome> {
    return this.dataSource.transaction(async (tx) => {
      await tx.query(
        `UPDATE orchestrator_delivery_runs
            SET status = 'abandoned', finished_at = $2,
                error_message = 'lease expired: the process running it stopped without finishing'
          WHERE job_name = $1 AND status = 'running' AND lease_expires_at <= $2`,
        [DELIVERY_TRACKING_JOB, run.startedAt],
      );
      // a concurrent starter waits here on the other's uncommitted row, then does nothing
      const inserted: { id: string }[] = await tx.query(
        `INSERT INTO orchestrator_delivery_runs
           (job_name, trigger, holder, started_at, lease_expires_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (job_name) WHERE status = 'running' DO NOTHING
         RETURNING id`,
        [DELIVERY_TRACKING_JOB, run.trigger, run.holder, run.startedAt, run.leaseExpiresAt],
      );
      if (inserted.length > 0) return { started: true as const, runId: inserted[0].id };
      const active: {
        id: string;
        holder: string;
        trigger: DeliveryRunTrigger;
        started_at: Date;
        lease_expires_at: Date;
      }[] = await tx.query(
        `SELECT id, holder, trigger, started_at, lease_expires_at
           FROM orchestrator_delivery_runs WHERE job_name = $1 AND status = 'running'`,
        [DELIVERY_TRACKING_JOB],
      );
      const row = active[0];
      return {
        started: false as const,
        active: row
          ? {
              id: row.id,
              holder: row.holder,
              trigger: row.trigger,
              startedAt: new Date(row.started_at),
              leaseExpiresAt: new Date(row.lease_expires_at),
            }
          : null,
      };
    });
  }

  async finish(runId: string, outcome: DeliveryRunFinish): Promise<void> {
    await this.dataSource.query(
      `UPDATE orchestrator_delivery_runs
          SET status = $2, finished_at = $3, summary = $4, error_message = $5
        WHERE id = $1 AND status = 'running'`,
      [
        runId,
        outcome.status,
        outcome.finishedAt,
        outcome.summary === null ? null : JSON.stringify(outcome.summary),
        outcome.errorMessage,
      ],
    );
  }

  async listRecent(limit: number): Promise<DeliveryRunRecord[]> {
    const rows: {
      id: string;
      status: string;
      trigger: DeliveryRunTrigger;
      holder: string;
      started_at: Date;
      finished_at: Date | null;
      summary: Record<string, unknown> | null;
      error_message: string | null;
    }[] = await this.dataSource.query(
      `SELECT id, status, trigger, holder, started_at, finished_at, summary, error_message
         FROM orchestrator_delivery_runs WHERE job_name = $1
        ORDER BY started_at DESC LIMIT $2`,
      [DELIVERY_TRACKING_JOB, limit],
    );
    return rows.map((r) => ({
      id: r.id,
      status: r.status,
      trigger: r.trigger,
      holder: r.holder,
      startedAt: new Date(r.started_at),
      finishedAt: r.finished_at ? new Date(r.finished_at) : null,
      summary: r.summary,
      errorMessage: r.error_message,
    }));
  }
}
