import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The outbox row's state, so an event the broker accepted but could not route to any
 * queue (a `mandatory` publish returned) is told apart from one that was delivered:
 * `pending` (not yet confirmed; failed attempts included), `sent` (confirmed and routed),
 * `unroutable` (returned by the broker; retried until a queue is bound). `sent_at` keeps
 * meaning "delivered", so the claim and retention queries are unchanged.
 */
export class OutboxStatus1796600500000 implements MigrationInterface {
  name = 'OutboxStatus1796600500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE orchestrator_outbox ADD COLUMN status varchar(16) NOT NULL DEFAULT 'pending'`,
    );
    await q.query(`UPDATE orchestrator_outbox SET status = 'sent' WHERE sent_at IS NOT NULL`);
    await q.query(
      `ALTER TABLE orchestrator_outbox ADD CONSTRAINT chk_outbox_status
         CHECK (status IN ('pending', 'sent', 'unroutable'))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE orchestrator_outbox DROP CONSTRAINT IF EXISTS chk_outbox_status`);
    await q.query(`ALTER TABLE orchestrator_outbox DROP COLUMN IF EXISTS status`);
  }
}
