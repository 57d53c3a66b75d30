import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each execution carries the instant by which its run must be done
 * (created_at + the workflow's max_execution_time_seconds), so a sweep can cancel
 * overdue work without joining the workflow definitions.
 */
export class ExecutionDeadline1796014000000 implements MigrationInterface {
  name = 'ExecutionDeadline1796014000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE orchestrator_executions ADD COLUMN deadline_at TIMESTAMPTZ`);
    await q.query(`
      CREATE INDEX idx_executions_overdue ON orchestrator_executions (deadline_at)
        WHERE status IN ('pending', 'running')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS idx_executions_overdue`);
    await q.query(`ALTER TABLE orchestrator_executions DROP COLUMN IF EXISTS deadline_at`);
  }
}
