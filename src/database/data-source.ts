import { join } from 'node:path';
import { DataSource, DataSourceOptions } from 'typeorm';
import { Env } from 'src/config/env.schema';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';
import { createSerialPgliteDriver } from './serial-pglite-driver';

/**
 * The only place that knows which database this is: PostgreSQL through `pg` when
 * DATABASE_URL is set, otherwise embedded PGlite in DATA_DIR. Both speak PostgreSQL and
 * run the same migrations; nothing else branches on the kind.
 */
export function buildDataSourceOptions(
  env: Pick<Env, 'DATABASE_URL' | 'DATA_DIR'>,
  overrides: { poolSize?: number; applicationName?: string } = {},
): DataSourceOptions {
  const common = {
    type: 'postgres' as const,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'orchestrator_migrations',
    migrationsTransactionMode: 'each' as const,
    synchronize: false,
    // ids default to gen_random_uuid() (core PostgreSQL); PGlite has no uuid-ossp to install
    installExtensions: false,
    logging: false,
  };
  if (env.DATABASE_URL) {
    return {
      ...common,
      url: env.DATABASE_URL,
      poolSize: overrides.poolSize ?? 20,
      applicationName: overrides.applicationName ?? 'bakery-orchestrator',
      extra: { connectionTimeoutMillis: 5000 },
    };
  }
  return {
    ...common,
    driver: createSerialPgliteDriver(join(env.DATA_DIR, 'pglite')),
  };
}

/** Which database a data source built by `buildDataSourceOptions` talks to. */
export function databaseKind(dataSource: DataSource): 'postgresql' | 'pglite' {
  // only the embedded database comes with its own driver
  return dataSource.options.driver ? 'pglite' : 'postgresql';
}
