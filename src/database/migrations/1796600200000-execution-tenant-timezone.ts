import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A tenant execution carries its tenant's timezone as listed when the run was created,
 * so every attempt, resume and retry derives the same business date from the slot
 * without asking the tenant service again. NULL (older rows, a tenant with no zone)
 * falls back to the workflow's timezone.
 */
export class ExecutionTenantTimezone1796600200000 implements MigrationInterface {
  name = 'ExecutionTenantTimezone1796600200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE orchestrator_executions ADD COLUMN IF NOT EXISTS tenant_timezone VARCHAR(64)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE orchestrator_executions DROP COLUMN IF EXISTS tenant_timezone`);
  }
}
