import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The tenants of a new run not yet inserted as tenant executions. A run of many tenants
 * commits its parent, its first batch of tenant executions and this row (every other tenant,
 * in claim order) in one transaction, so the run is whole the moment it exists; the rest are
 * inserted batch by batch afterwards (`next_index` is how far), by whichever instance locks
 * the row, and the row goes with the last batch. A run is not closed while it has this row.
 */
export class RunStaging1796600700000 implements MigrationInterface {
  name = 'RunStaging1796600700000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE IF NOT EXISTS orchestrator_run_staging (
        execution_id UUID PRIMARY KEY REFERENCES orchestrator_executions (id) ON DELETE CASCADE,
        tenant_ids UUID[] NOT NULL,
        priorities INTEGER[] NOT NULL,
        timezones VARCHAR(64)[] NOT NULL,
        steps_total INTEGER NOT NULL,
        next_index INTEGER NOT NULL DEFAULT 0,
        created_at TIMESTAMPTZ NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS orchestrator_run_staging`);
  }
}
