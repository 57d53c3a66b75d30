import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A completed step keeps, beside the downstream answer (`result`), its one-line summary
 * and figures ("Generated 42 forecasts", MAPE): what GET /executions/{id}, the logs and
 * the console show without re-reading each service's answer format.
 */
export class StepResultSummary1796600600000 implements MigrationInterface {
  name = 'StepResultSummary1796600600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE orchestrator_execution_steps ADD COLUMN IF NOT EXISTS result_summary JSONB`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE orchestrator_execution_steps DROP COLUMN IF EXISTS result_summary`);
  }
}
