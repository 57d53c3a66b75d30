import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * src/metrics alerts on the orchestrator itself: one open row per condition (a partial
 * unique index makes "fire once" a database fact across replicas), cleared by the next
 * success; and the per-run deadline verdicts behind "tenants finished before their
 * deadline".
 */
export class OrchestratorAlerts1796020200000 implements MigrationInterface {
  name = 'OrchestratorAlerts1796020200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE orchestrator_alerts (
        id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        condition_key VARCHAR(255) NOT NULL,
        kind VARCHAR(50) NOT NULL,
        workflow_name VARCHAR(255),
        severity VARCHAR(20) NOT NULL,
        message TEXT NOT NULL,
        details JSONB,
        opened_at TIMESTAMPTZ NOT NULL,
        cleared_at TIMESTAMPTZ,
        cleared_reason TEXT,
        event_id UUID
      )`);
    await q.query(
      `CREATE UNIQUE INDEX uq_alerts_open_condition ON orchestrator_alerts (condition_key) WHERE cleared_at IS NULL`,
    );
    await q.query(`CREATE INDEX idx_alerts_opened ON orchestrator_alerts (opened_at DESC)`);
    await q.query(`
      CREATE TABLE orchestrator_deadline_results (
        run_id UUID PRIMARY KEY REFERENCES orchestrator_executions(id) ON DELETE CASCADE,
        workflow_name VARCHAR(255) NOT NULL,
        local_date DATE NOT NULL,
        tenants_total INTEGER NOT NULL,
        tenants_on_time INTEGER NOT NULL,
        tenants_missed INTEGER NOT NULL,
        by_tier JSONB NOT NULL,
        evaluated_at TIMESTAMPTZ NOT NULL
      )`);
    await q.query(
      `CREATE INDEX idx_deadline_results_date ON orchestrator_deadline_results (local_date DESC)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS orchestrator_deadline_results`);
    await q.query(`DROP TABLE IF EXISTS orchestrator_alerts`);
  }
}
