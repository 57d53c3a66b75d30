import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from 'src/database/data-source';
import { MIGRATIONS } from 'src/database/migrations';
import { describeWith } from '../utils/services';
import { createTestDatabase, TestDatabase } from '../utils/test-db';

/** What "the same schema" means: every column, constraint and index of our tables. */
async function describeSchema(ds: DataSource) {
  const columns = await ds.query(`
    SELECT table_name, column_name, data_type, is_nullable, column_default,
           character_maximum_length, numeric_precision, numeric_scale
      FROM information_schema.columns
     WHERE table_schema = 'public' AND table_name LIKE 'orchestrator_%'
     ORDER BY table_name, column_name`);
  const constraints = await ds.query(`
    SELECT conrelid::regclass::text AS table_name, conname, contype, pg_get_constraintdef(oid) AS def
      FROM pg_constraint
     WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text LIKE 'orchestrator_%'
       -- PostgreSQL 18 (PGlite) also lists NOT NULL as constraints; is_nullable above covers them
       AND contype <> 'n'
     ORDER BY 1, 2`);
  const indexes = await ds.query(`
    SELECT tablename, indexname, indexdef FROM pg_indexes
     WHERE schemaname = 'public' AND tablename LIKE 'orchestrator_%'
     ORDER BY tablename, indexname`);
  return { columns, constraints, indexes };
}

describeWith(['postgres'], 'migrations on PostgreSQL and embedded PGlite', () => {
  let pgDatabase: TestDatabase;
  let postgres: DataSource;
  let pglite: DataSource;
  let dataDir: string;

  beforeAll(async () => {
    pgDatabase = await createTestDatabase({ migrated: false });
    postgres = new DataSource(
      buildDataSourceOptions({ DATABASE_URL: pgDatabase.url, DATA_DIR: '' }),
    );
    await postgres.initialize();
    dataDir = mkdtempSync(join(tmpdir(), 'orch-pglite-'));
    pglite = new DataSource(buildDataSourceOptions({ DATABASE_URL: undefined, DATA_DIR: dataDir }));
    await pglite.initialize();
  });

  afterAll(async () => {
    await postgres?.destroy();
    await pglite?.destroy();
    await pgDatabase?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('applies every migration on both databases', async () => {
    const onPostgres = await postgres.runMigrations({ transaction: 'each' });
    const onPglite = await pglite.runMigrations({ transaction: 'each' });
    expect(onPostgres.map((m) => m.name)).toEqual(MIGRATIONS.map((m) => new m().name));
    expect(onPglite.map((m) => m.name)).toEqual(onPostgres.map((m) => m.name));
  });

  it('does nothing when run again', async () => {
    expect(await postgres.runMigrations()).toEqual([]);
    expect(await pglite.runMigrations()).toEqual([]);
    expect(await postgres.showMigrations()).toBe(false);
  });

  it('produces the same tables, columns, types, constraints and indexes on both', async () => {
    const a = await describeSchema(postgres);
    const b = await describeSchema(pglite);
    expect(a.columns.length).toBeGreaterThan(60);
    expect(b).toEqual(a);
  });

  it('has the specification tables and the additions', async () => {
    const { indexes, constraints } = await describeSchema(postgres);
    const indexNames = indexes.map((i: { indexname: string }) => i.indexname);
    expect(indexNames).toEqual(
      expect.arrayContaining([
        'idx_workflows_enabled',
        'idx_executions_workflow_date',
        'idx_executions_tenant_date',
        'idx_executions_status',
        'idx_executions_workflow_status',
        'idx_execution_logs_execution',
        'idx_metrics_date',
        'uq_executions_slot',
      ]),
    );
    const conNames = constraints.map((c: { conname: string }) => c.conname);
    expect(conNames).toEqual(
      expect.arrayContaining([
        'single_leader',
        'orchestrator_metrics_metric_date_workflow_name_key',
      ]),
    );
  });

  it('enforces one leader row and one execution per (workflow, slot, tenant)', async () => {
    await expect(
      postgres.query(
        `INSERT INTO orchestrator_leader (id, instance_id, became_leader_at, last_heartbeat_at) VALUES (2, 'x', now(), now())`,
      ),
    ).rejects.toThrow(/single_leader/);
    const [{ id: workflowId }] = await postgres.query(
      `INSERT INTO orchestrator_workflows (workflow_name, workflow_type, steps) VALUES ('w', 'daily', '[]') RETURNING id`,
    );
    const insert = (tenant: string | null) =>
      postgres.query(
        `INSERT INTO orchestrator_executions (workflow_id, workflow_name, execution_type, tenant_id, scheduled_for)
         VALUES ($1, 'w', 'scheduled', $2, '2026-11-30T07:00:00Z')`,
        [workflowId, tenant],
      );
    await insert(null);
    await expect(insert(null)).rejects.toThrow(/uq_executions_slot/);
    await insert('00000000-0000-4000-8000-000000000001');
    await expect(insert('00000000-0000-4000-8000-000000000001')).rejects.toThrow(
      /uq_executions_slot/,
    );
  });
});
