import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from 'src/database/data-source';
import { createTestDatabase } from './test-db';

/** An initialised, migrated DataSource and how to dispose of it and its database. */
export interface OpenedDataSource {
  ds: DataSource;
  close(): Promise<void>;
}

/** A clone of the migrated template database on the test PostgreSQL, dropped on close. */
export async function openPostgresDataSource(poolSize = 4): Promise<OpenedDataSource> {
  const db = await createTestDatabase({ migrated: true });
  const ds = new DataSource(
    buildDataSourceOptions({ DATABASE_URL: db.url, DATA_DIR: '' }, { poolSize }),
  );
  await ds.initialize();
  return {
    ds,
    close: async () => {
      await ds.destroy();
      await db.drop();
    },
  };
}

/** Embedded PGlite in a fresh temporary directory, migrated; the directory goes on close. */
export async function openPgliteDataSource(prefix: string): Promise<OpenedDataSource> {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const ds = new DataSource(buildDataSourceOptions({ DATABASE_URL: undefined, DATA_DIR: dataDir }));
  await ds.initialize();
  await ds.runMigrations({ transaction: 'each' });
  return {
    ds,
    close: async () => {
      await ds.destroy();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
