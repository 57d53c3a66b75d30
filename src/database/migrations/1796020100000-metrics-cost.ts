import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * src/metrics: per-tenant-execution cost counters (downstream calls, step attempts,
 * attributed CPU time) and the additions to the daily rollup that come with them.
 * The specification's orchestrator_metrics columns are kept as they are.
 */
export class MetricsCost1796020100000 implements MigrationInterface {
  name = 'MetricsCost1796020100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE orchestrator_execution_costs (
        execution_id UUID PRIMARY KEY REFERENCES orchestrator_executions(id) ON DELETE CASCADE,
        run_id UUID NOT NULL,
        workflow_name VARCHAR(255) NOT NULL,
        tenant_id UUID NOT NULL,
        downstream_calls INTEGER NOT NULL DEFAULT 0,
        step_attempts INTEGER NOT NULL DEFAULT 0,
        failed_attempts INTEGER NOT NULL DEFAULT 0,
        step_seconds NUMERIC(14, 3) NOT NULL DEFAULT 0,
        cpu_seconds NUMERIC(14, 6) NOT NULL DEFAULT 0,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
      )`);
    await q.query(`CREATE INDEX idx_execution_costs_run ON orchestrator_execution_costs (run_id)`);
    await q.query(`
      ALTER TABLE orchestrator_metrics
        ADD COLUMN skipped_slots INTEGER NOT NULL DEFAULT 0,
        ADD COLUMN tenant_executions INTEGER NOT NULL DEFAULT 0,
        ADD COLUMN tenant_failures INTEGER NOT NULL DEFAULT 0,
        ADD COLUMN tenants INTEGER NOT NULL DEFAULT 0,
        ADD COLUMN downstream_calls BIGINT NOT NULL DEFAULT 0,
        ADD COLUMN cpu_seconds NUMERIC(14, 3) NOT NULL DEFAULT 0,
        ADD COLUMN cost_eur NUMERIC(14, 4) NOT NULL DEFAULT 0,
        ADD COLUMN cost_per_tenant_eur NUMERIC(12, 6),
        ADD COLUMN deadline_misses INTEGER NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE orchestrator_metrics
        DROP COLUMN IF EXISTS skipped_slots,
        DROP COLUMN IF EXISTS tenant_executions,
        DROP COLUMN IF EXISTS tenant_failures,
        DROP COLUMN IF EXISTS tenants,
        DROP COLUMN IF EXISTS downstream_calls,
        DROP COLUMN IF EXISTS cpu_seconds,
        DROP COLUMN IF EXISTS cost_eur,
        DROP COLUMN IF EXISTS cost_per_tenant_eur,
        DROP COLUMN IF EXISTS deadline_misses`);
    await q.query(`DROP TABLE IF EXISTS orchestrator_execution_costs`);
  }
}
