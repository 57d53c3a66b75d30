import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In } from 'typeorm';
import { returnedRows } from 'src/common/sql/query-result';
import { runTransaction, Transaction } from 'src/database/transaction';
import { fencingCondition } from 'src/leader/fencing';
import { WorkflowEntity } from './workflow.entity';
import type { WorkflowSeed } from './catalogue/built-in-workflows';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A route's `{workflow_id}` is an id or a name, and names cannot look like UUIDs (they match
 * ^[a-z][a-z0-9_]*$), so the input picks one column. One parameter compared with both would
 * be typed uuid by PostgreSQL from its first use, and `workflow_name = $1` then fails with
 * "operator does not exist: character varying = uuid".
 */
function byIdOrName(idOrName: string): { id: string } | { workflowName: string } {
  return UUID.test(idOrName) ? { id: idOrName.toLowerCase() } : { workflowName: idOrName };
}

@Injectable()
export class WorkflowsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private repo(tx?: EntityManager) {
    return (tx ?? this.dataSource.manager).getRepository(WorkflowEntity);
  }

  list(): Promise<WorkflowEntity[]> {
    return this.repo().find({ order: { workflowName: 'ASC' } });
  }

  findByIdOrName(idOrName: string, tx?: Transaction): Promise<WorkflowEntity | null> {
    return this.repo(tx).findOne({ where: byIdOrName(idOrName) });
  }

  findByIds(ids: string[]): Promise<WorkflowEntity[]> {
    return ids.length === 0 ? Promise.resolve([]) : this.repo().findBy({ id: In(ids) });
  }

  findByIdOrNameForUpdate(idOrName: string, tx: Transaction): Promise<WorkflowEntity | null> {
    return this.repo(tx)
      .createQueryBuilder('w')
      .setLock('pessimistic_write')
      .where(byIdOrName(idOrName))
      .getOne();
  }

  /** Inserts the seeds that do not exist yet; existing rows (and their edits) are kept. */
  async insertMissing(seeds: WorkflowSeed[]): Promise<string[]> {
    const created: string[] = [];
    for (const seed of seeds) {
      const rows = await this.dataSource.query(
        `INSERT INTO orchestrator_workflows
           (workflow_name, workflow_type, description, cron_expression, timezone,
            max_execution_time_seconds, max_retries, retry_delay_seconds, steps)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (workflow_name) DO NOTHING
         RETURNING workflow_name`,
        [
          seed.workflowName,
          seed.workflowType,
          seed.description,
          seed.cronExpression,
          seed.timezone,
          seed.maxExecutionTimeSeconds,
          seed.maxRetries,
          seed.retryDelaySeconds,
          JSON.stringify(seed.steps),
        ],
      );
      if (rows.length > 0) created.push(seed.workflowName);
    }
    return created;
  }

  /** Saves changed fields and bumps version, so schedulers holding an old copy notice. */
  async saveChanges(
    tx: Transaction,
    id: string,
    changes: Partial<WorkflowEntity>,
  ): Promise<WorkflowEntity> {
    await this.repo(tx).update({ id }, { ...changes, version: () => 'version + 1' } as never);
    return (await this.repo(tx).findOneByOrFail({ id })) as WorkflowEntity;
  }

  listSchedulable(): Promise<WorkflowEntity[]> {
    return this.repo()
      .createQueryBuilder('w')
      .where('w.is_enabled = TRUE AND w.cron_expression IS NOT NULL')
      .orderBy('w.next_execution_at', 'ASC', 'NULLS FIRST')
      .getMany();
  }

  /**
   * Claims one slot: advances next_execution_at only if it still equals the slot, the slot
   * is due by the database clock (now(), never the caller's clock: a fast instance cannot
   * fire early) and the caller's term is the current one. The slot, not now(), is the claim
   * key, so two leaders compute the same key and exactly one wins; the term fences a
   * deposed leader. `handOver` runs in the same transaction, so the claim and what it hands
   * over (the run, the skip records) commit together or not at all.
   */
  async claimSlot<T>(
    args: { workflowId: string; slot: Date; next: Date | null; term: string },
    handOver: (tx: Transaction) => Promise<T>,
  ): Promise<{ claimed: true; value: T } | { claimed: false }> {
    return runTransaction(this.dataSource, async (tx) => {
      const rows = await tx.query(
        `UPDATE orchestrator_workflows
            SET next_execution_at = $3, last_execution_at = $2
          WHERE id = $1 AND next_execution_at = $2 AND next_execution_at <= now()
            AND ${fencingCondition('$4')}
          RETURNING id`,
        [args.workflowId, args.slot, args.next, args.term],
      );
      if (returnedRows(rows).length !== 1) return { claimed: false as const };
      return { claimed: true as const, value: await handOver(tx) };
    });
  }

  async initNextExecution(
    workflowId: string,
    next: Date | null,
    expectedVersion: number,
  ): Promise<boolean> {
    const rows = await this.dataSource.query(
      `UPDATE orchestrator_workflows SET next_execution_at = $2
        WHERE id = $1 AND version = $3 RETURNING id`,
      [workflowId, next, expectedVersion],
    );
    return returnedRows(rows).length === 1;
  }

  async recordRunOutcome(
    tx: Transaction,
    workflowId: string,
    outcome: 'completed' | 'failed',
    at: Date,
  ): Promise<void> {
    await tx.query(
      outcome === 'completed'
        ? `UPDATE orchestrator_workflows SET last_success_at = $2, consecutive_failures = 0 WHERE id = $1`
        : `UPDATE orchestrator_workflows SET last_failure_at = $2, consecutive_failures = consecutive_failures + 1 WHERE id = $1`,
      [workflowId, at],
    );
  }

  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(fn);
  }
}
