// globalSetup runs outside Jest's module mapper: resolve 'src/...' like the app does
import 'tsconfig-paths/register';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../../src/database/data-source';
import { SERVICES, ServiceName, isPortOpen, markAvailability } from './services';
import { adminUrl, databaseUrl, templateDatabaseName } from './test-db';

/**
 * Probes PostgreSQL, Redis and RabbitMQ. Under CI=true a missing service fails the
 * whole run loudly; outside CI the suites that need it are skipped with a message.
 * Then builds the migrated template database every test database is cloned from.
 */
export default async function globalSetup(): Promise<void> {
  const missing: ServiceName[] = [];
  for (const name of Object.keys(SERVICES) as ServiceName[]) {
    const { host, port } = SERVICES[name];
    const open = await isPortOpen(host, port);
    markAvailability(name, open);
    if (!open) missing.push(name);
  }
  if (missing.length > 0 && process.env.CI === 'true') {
    throw new Error(
      `CI=true and ${missing.join(', ')} not reachable on 127.0.0.1. Start them (see DEVELOPERS.md / .ci/run); ` +
        'integration and e2e suites never skip in CI.',
    );
  }
  if (!missing.includes('postgres')) await buildTemplate();
}

async function buildTemplate(): Promise<void> {
  const template = templateDatabaseName();
  const admin = new Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [
      template,
    ]);
    if (rowCount) return; // already built for exactly these migrations
    // built under a temporary name and renamed when complete, so a concurrent run
    // never clones a half-migrated template
    const building = `${template}_b${process.pid}`;
    await admin.query(`DROP DATABASE IF EXISTS ${building}`);
    await admin.query(`CREATE DATABASE ${building}`);
    const ds = new DataSource(
      buildDataSourceOptions({ DATABASE_URL: databaseUrl(building), DATA_DIR: '' }),
    );
    await ds.initialize();
    await ds.runMigrations({ transaction: 'each' });
    await ds.destroy();
    try {
      await admin.query(`ALTER DATABASE ${building} RENAME TO ${template}`);
    } catch {
      await admin.query(`DROP DATABASE IF EXISTS ${building}`); // another run won the race
    }
  } finally {
    await admin.end();
  }
}
