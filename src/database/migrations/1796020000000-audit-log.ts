import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Who changed what (src/auth/audit): one row per mutating request that reached a
 * handler and succeeded (or failed on the server's side), with the state before and after
 * for updates. Read newest first, filtered by subject, target or time.
 */
export class AuditLog1796020000000 implements MigrationInterface {
  name = 'AuditLog1796020000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE orchestrator_audit_log (
        id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        subject VARCHAR(255) NOT NULL,
        roles TEXT[] NOT NULL DEFAULT '{}',
        method VARCHAR(10) NOT NULL,
        route VARCHAR(500) NOT NULL,
        path VARCHAR(2000) NOT NULL,
        target VARCHAR(500),
        status_code INTEGER NOT NULL,
        request JSONB,
        before JSONB,
        after JSONB,
        request_id VARCHAR(128)
      )`);
    await q.query(`CREATE INDEX idx_audit_at ON orchestrator_audit_log (at DESC, id DESC)`);
    await q.query(
      `CREATE INDEX idx_audit_subject_at ON orchestrator_audit_log (subject, at DESC, id DESC)`,
    );
    await q.query(
      `CREATE INDEX idx_audit_target_at ON orchestrator_audit_log (target, at DESC, id DESC)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS orchestrator_audit_log`);
  }
}
