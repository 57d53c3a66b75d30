import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The overdue sweep (`cancelOverdue`) reads pending tenant work only: what is running stops
 * at its run's deadline in the process running it. An index entry for running rows (and for
 * runs) was written at every claim and never read, one of the ten a claim writes per tenant.
 */
export class OverdueIndexPending1796600800000 implements MigrationInterface {
  name = 'OverdueIndexPending1796600800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS idx_executions_overdue`);
    await q.query(`
      CREATE INDEX idx_executions_overdue ON orchestrator_executions (deadline_at)
        WHERE status = 'pending' AND tenant_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS idx_executions_overdue`);
    await q.query(`
      CREATE INDEX idx_executions_overdue ON orchestrator_executions (deadline_at)
        WHERE status IN ('pending', 'running')`);
  }
}
