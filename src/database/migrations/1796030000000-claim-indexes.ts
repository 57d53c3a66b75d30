import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The claim query's access paths, one per kind of claimable work:
 * - pending work in claim order (priority, then creation, then tenant id): with the tenant
 *   id in the key, `LIMIT n` stops after n entries; without it, every claim sorted all the
 *   pending tenants of a run (they share `created_at`), 3.5 ms a claim at 10,000 tenants;
 * - running work by lease expiry, so expired leases are found without walking the
 *   executions that are running normally.
 */
export class ClaimIndexes1796030000000 implements MigrationInterface {
  name = 'ClaimIndexes1796030000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS idx_executions_claimable`);
    await q.query(`
      CREATE INDEX idx_executions_claimable
        ON orchestrator_executions (priority DESC, created_at, tenant_id)
        WHERE status = 'pending' AND tenant_id IS NOT NULL`);
    await q.query(`
      CREATE INDEX idx_executions_lease_expiry
        ON orchestrator_executions (lease_expires_at)
        WHERE status = 'running' AND tenant_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS idx_executions_lease_expiry`);
    await q.query(`DROP INDEX IF EXISTS idx_executions_claimable`);
    await q.query(`
      CREATE INDEX idx_executions_claimable
        ON orchestrator_executions (priority DESC, created_at)
        WHERE status IN ('pending', 'running') AND tenant_id IS NOT NULL`);
  }
}
