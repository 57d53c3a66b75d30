import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Delivery tracking (src/delivery-tracking): the alerts already sent, so a later run or
 * another replica never repeats one, and the runs of the hourly job, whose single
 * 'running' row is the cross-pod lock behind the CronJob's concurrencyPolicy: Forbid.
 */
export class DeliveryTracking1796013900000 implements MigrationInterface {
  name = 'DeliveryTracking1796013900000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE orchestrator_delivery_alerts (
        id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id UUID NOT NULL,
        purchase_order_id VARCHAR(255) NOT NULL,
        po_number VARCHAR(100),
        alert_type VARCHAR(50) NOT NULL
          CONSTRAINT chk_delivery_alerts_type
          CHECK (alert_type IN ('DELIVERY_ARRIVING_SOON', 'DELIVERY_OVERDUE', 'STOCK_RECEIPT_INCOMPLETE')),
        -- the window version: a rescheduled order gets a new key and is alerted afresh
        expected_delivery TIMESTAMPTZ NOT NULL,
        event_id UUID NOT NULL,
        sent_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        CONSTRAINT uq_delivery_alerts_once
          UNIQUE (tenant_id, purchase_order_id, alert_type, expected_delivery),
        CONSTRAINT uq_delivery_alerts_event UNIQUE (event_id)
      )`);
    await q.query(
      `CREATE INDEX idx_delivery_alerts_sent_at ON orchestrator_delivery_alerts (sent_at)`,
    );

    await q.query(`
      CREATE TABLE orchestrator_delivery_runs (
        id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        job_name VARCHAR(100) NOT NULL DEFAULT 'delivery_tracking',
        status VARCHAR(20) NOT NULL DEFAULT 'running'
          CONSTRAINT chk_delivery_runs_status
          CHECK (status IN ('running', 'completed', 'failed', 'abandoned')),
        trigger VARCHAR(20) NOT NULL
          CONSTRAINT chk_delivery_runs_trigger CHECK (trigger IN ('cron', 'cli', 'manual')),
        holder VARCHAR(255) NOT NULL,
        started_at TIMESTAMPTZ NOT NULL,
        -- past it, a 'running' row belongs to a dead process and no longer blocks a new run
        lease_expires_at TIMESTAMPTZ NOT NULL,
        finished_at TIMESTAMPTZ,
        summary JSONB,
        error_message TEXT
      )`);
    await q.query(`
      CREATE UNIQUE INDEX uq_delivery_runs_one_active
        ON orchestrator_delivery_runs (job_name) WHERE status = 'running'`);
    await q.query(
      `CREATE INDEX idx_delivery_runs_started ON orchestrator_delivery_runs (job_name, started_at DESC)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS orchestrator_delivery_runs`);
    await q.query(`DROP TABLE IF EXISTS orchestrator_delivery_alerts`);
  }
}
