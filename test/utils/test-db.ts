import { createHash, randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { MIGRATIONS } from '../../src/database/migrations';
import { SERVICES } from './services';

/** Named after the migrations' source, so a new or edited migration gets a new template. */
export function templateDatabaseName(): string {
  const source = MIGRATIONS.map((m) => m.toString()).join('\n');
  return `orch_tpl_${createHash('sha1').update(source).digest('hex').slice(0, 12)}`;
}

export function databaseUrl(name: string): string {
  const url = new URL(SERVICES.postgres.url);
  url.pathname = `/${name}`;
  return url.toString();
}

export const adminUrl = () => SERVICES.postgres.url;

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/**
 * A fresh database for one test file. `migrated` clones the template built in global
 * setup (milliseconds); otherwise it is empty, for tests of the migrations themselves.
 */
export async function createTestDatabase(options: { migrated: boolean }): Promise<TestDatabase> {
  const name = `orch_test_${process.env.JEST_WORKER_ID ?? '0'}_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(
      options.migrated
        ? `CREATE DATABASE ${name} TEMPLATE ${templateDatabaseName()}`
        : `CREATE DATABASE ${name}`,
    );
  } finally {
    await admin.end();
  }
  return {
    name,
    url: databaseUrl(name),
    async drop() {
      const c = new Client({ connectionString: adminUrl() });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
