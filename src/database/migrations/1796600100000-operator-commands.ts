import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Operator commands that happen once (execute, retry, backfill):
 * - `orchestrator_idempotency_keys`: the first answer to each Idempotency-Key, per route,
 *   target and caller; the unique key, not a lookup, decides which request does the work;
 * - `active_retry_id` on a run: the retry that claimed it (compare-and-set), so two
 *   retries of one run never run side by side;
 * - an index on the attempts of a (workflow, slot, tenant), retries included (the slot
 *   key's index leaves retries out), for "is it still failed?" and "who recovered it?".
 */
export class OperatorCommands1796600100000 implements MigrationInterface {
  name = 'OperatorCommands1796600100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE orchestrator_idempotency_keys (
        id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        route VARCHAR(100) NOT NULL,
        target VARCHAR(255) NOT NULL,
        subject VARCHAR(255) NOT NULL,
        idempotency_key VARCHAR(255) NOT NULL,
        request_hash CHAR(64) NOT NULL,
        state VARCHAR(20) NOT NULL
          CONSTRAINT chk_idempotency_keys_state CHECK (state IN ('processing', 'completed')),
        lock_token UUID NOT NULL,
        locked_until TIMESTAMPTZ NOT NULL,
        response_status INTEGER,
        -- json, not jsonb: a replay sends the body back as first sent, keys in the same order
        response_body JSON,
        created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        completed_at TIMESTAMPTZ,
        expires_at TIMESTAMPTZ NOT NULL,
        CONSTRAINT uq_idempotency_keys UNIQUE (route, target, subject, idempotency_key)
      )`);
    await q.query(
      `CREATE INDEX idx_idempotency_keys_expiry ON orchestrator_idempotency_keys (expires_at)`,
    );
    await q.query(`ALTER TABLE orchestrator_executions ADD COLUMN active_retry_id UUID`);
    await q.query(`
      CREATE INDEX idx_executions_retry_of ON orchestrator_executions (retry_of_execution_id)
        WHERE retry_of_execution_id IS NOT NULL`);
    await q.query(`
      CREATE INDEX idx_executions_attempts
        ON orchestrator_executions (workflow_id, scheduled_for, tenant_id, created_at)
        WHERE tenant_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS idx_executions_attempts`);
    await q.query(`DROP INDEX IF EXISTS idx_executions_retry_of`);
    await q.query(`ALTER TABLE orchestrator_executions DROP COLUMN IF EXISTS active_retry_id`);
    await q.query(`DROP TABLE IF EXISTS orchestrator_idempotency_keys`);
  }
}
